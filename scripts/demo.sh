#!/usr/bin/env bash
# Set everything up and run the service on the embedded defaults with demo data: SQLite in
# var/demo.sqlite3, a cohort of fictitious apprentices, a clock running three days per second so
# that months of follow-up unfold in a minute, http://127.0.0.1:8000/health. Ctrl-C stops it.
# Extra arguments go to `casework serve` (see `.venv/bin/casework serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

setup_venv ""
exec .venv/bin/casework serve --demo "$@"
