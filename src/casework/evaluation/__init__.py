"""The programme's evaluation: power (`power.py`), the evaluator's export (`export.py`)."""
