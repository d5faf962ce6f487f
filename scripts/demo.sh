#!/usr/bin/env bash
# Set everything up and run the demo on the embedded defaults (SQLite in var/demo.sqlite3):
# a cohort of apprentices created and followed month after month through the engine.
# Extra arguments go to `casework demo` (see `.venv/bin/casework demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

setup_venv ""
exec .venv/bin/casework demo --fresh "$@"
