#!/usr/bin/env bash
# Set everything up and run the whole test suite, on SQLite and on a throwaway PostgreSQL
# cluster the tests start themselves. This is what CI runs. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# PostgreSQL for the throwaway cluster; openssl makes the SMTP relay's test certificate;
# Dovecot is the IMAP server the reply tests read from; sqlite3 takes the operations guide's
# SQLite backup; systemd-analyze checks the shipped unit; chromium and its driver run the
# browser tests (tests/browser), npm fetches axe-core for their accessibility check; Pango
# (and a font) is what WeasyPrint draws `casework report --format pdf` with.
ensure_debian_packages "postgresql:/usr/lib/postgresql/*/bin/initdb" "openssl:/usr/bin/openssl" \
    "dovecot-imapd:/usr/lib/dovecot/imap" "sqlite3:/usr/bin/sqlite3" \
    "systemd:/usr/bin/systemd-analyze" "chromium:/usr/bin/chromium" \
    "chromium-driver:/usr/bin/chromedriver" "npm:/usr/bin/npm" \
    "libpango-1.0-0:/usr/lib/*/libpango-1.0.so.0" "libpangoft2-1.0-0:/usr/lib/*/libpangoft2-1.0.so.0" \
    "fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
setup_venv test,bench  # bench: the benchmarks' smoke tests run splink too
ensure_axe

echo "==> ruff"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check --quiet src tests bench

# One pytest worker per core (pytest-xdist; each starts its own PostgreSQL cluster, Dovecot and
# browser), the slowest tests named at the end. CASEWORK_TEST_WORKERS=0 runs in one process.
echo "==> pytest"
exec .venv/bin/pytest -n "${CASEWORK_TEST_WORKERS:-auto}" --dist worksteal --durations=20 "$@"
