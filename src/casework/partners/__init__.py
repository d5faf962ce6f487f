"""The partner directory: partners and their contacts (`directory.py`), read from a file
(`reading.py`, `toml_file.py`, `vocabulary.py`), and the partners proposed for a referral
(`proposals.py`)."""
