# Sourced by scripts/demo.sh and scripts/test.sh: a Python 3.11+ virtual environment in .venv
# with casework installed in editable mode. Safe to run again: it only installs what is missing.

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "casework needs Python 3.11 or newer (python3 --version: $(python3 --version 2>&1))" >&2
    return 1
}

setup_venv() {
    local extras="$1"
    local python
    python="$(find_python)"
    if [ ! -x .venv/bin/python ]; then
        echo "==> creating .venv with $python"
        "$python" -m venv .venv
    fi
    echo "==> installing casework${extras:+[$extras]} into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}" 2>&1 |
        grep -v "^WARNING: Location" || true
    .venv/bin/python -c 'import casework' # fail here, clearly, if the install did not work
}

# Debian packages the tests need (servers the tests start themselves).
ensure_debian_packages() {
    local missing=()
    for spec in "$@"; do
        local package="${spec%%:*}" probe="${spec#*:}"
        if ! compgen -G "$probe" >/dev/null; then
            missing+=("$package")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "missing packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
        return 1
    fi
    echo "==> apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# axe-core, the accessibility checker the browser tests inject into the pages: one pinned
# version from the npm registry, unpacked under .cache/ (the browser itself is Debian's
# chromium: nothing downloads one).
AXE_VERSION=4.14.1
ensure_axe() {
    local folder=".cache/axe-core-$AXE_VERSION"
    [ -f "$folder/package/axe.min.js" ] && return 0
    echo "==> npm pack axe-core@$AXE_VERSION"
    mkdir -p "$folder"
    (cd "$folder" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null &&
        tar -xzf "axe-core-$AXE_VERSION.tgz" package/axe.min.js package/LICENSE)
}
