#!/usr/bin/env bash
# Create .venv with Python >= 3.11 (installing Debian's python3-venv when ensurepip is missing and we are root).
set -euo pipefail
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "Python >= 3.11 is required" >&2; exit 1; }
if ! "$PY" -m venv .venv 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" >/dev/null
    rm -rf .venv && "$PY" -m venv .venv
  else
    echo "cannot create a virtualenv: install python3-venv" >&2; exit 1
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip
