"""Workflow definitions: YAML read with line numbers (`reader`), a frozen neutral form
(`definition`), checks that list every problem (`validation`), one `transitions` Machine per
definition (`machine`), the loaded set (`catalog`), and pictures of it (`diagram`)."""
