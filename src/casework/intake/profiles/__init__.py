"""The default column profiles, one TOML file per source (`cma.toml`, `ml.toml`)."""
