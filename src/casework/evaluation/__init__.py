"""The evaluation: what the stored cases, contracts, contacts and sheets say about the programme
(the report's tables, their statistics, their outputs)."""
