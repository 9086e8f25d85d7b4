# Shared by scripts/run and scripts/test: install what is missing, never what is there.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Debian packages, installed only when one is missing (needs root or sudo).
ensure_debian_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
    || { $sudo apt-get update -q >/dev/null && \
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
}

# The virtualenv with the pinned dependencies from pyproject.toml (and its extras, if named).
ensure_python_env() {
  local extras="${1:-}"
  if [ ! -x "$PY" ]; then
    python3 -c "import ensurepip, venv" 2>/dev/null || ensure_debian_packages python3-venv
    say "Creating the virtualenv in .venv"
    python3 -m venv "$VENV"
  fi
  local wanted
  wanted="$("$PY" - "$extras" <<'PYEOF'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
deps = list(project["dependencies"])
for extra in filter(None, sys.argv[1].split(",")):
    deps += project["optional-dependencies"][extra]
print("\n".join(deps))
PYEOF
)"
  local stamp="$VENV/.installed-$(printf '%s' "$wanted" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    say "Installing Python packages"
    printf '%s\n' "$wanted" > "$VENV/requirements.txt"
    "$PY" -m pip install -q --disable-pip-version-check -r "$VENV/requirements.txt"
    touch "$stamp"
  fi
}

# nhsuk-frontend from npm, copied into static/vendor/ by manage.py build_assets.
ensure_frontend() {
  command -v npm >/dev/null || ensure_debian_packages nodejs npm
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "Installing npm packages"
    npm ci --no-audit --no-fund --silent
  fi
  "$PY" manage.py build_assets >/dev/null
}
