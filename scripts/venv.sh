#!/usr/bin/env bash
# Create .venv and install djbios with the given extras, once. Sourced by demo.sh and test.sh.
# Extras: model (TensorFlow, gpt-2-simple), postgres (psycopg), test (both, plus the test tools);
# demo.sh and test.sh use `test`. A posting-only box needs no extra: `pip install .`.
# Re-installs only when pyproject.toml changed since the last install (a stamp file records it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DJBIOS_VENV:-$ROOT/.venv}"
EXTRAS="${1:-test}"
STAMP="$VENV/.djbios-installed-$EXTRAS"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi
if [ -n "${DJBIOS_SKIP_INSTALL:-}" ]; then
  :  # the caller already runs inside an installed venv (the demo test)
elif [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "==> installing djbios[$EXTRAS] (TensorFlow takes a couple of minutes the first time)"
  # pip's own and the build backend's notes (setuptools explains editable installs at length) go to a
  # log, shown only when the install fails: a first run should not open with a wall of warnings.
  LOG="$VENV/djbios-install.log"
  if ! { "$VENV/bin/python" -m pip install --quiet --upgrade pip &&
         "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$EXTRAS]"; } >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "==> the install failed (log above, also in $LOG)" >&2
    exit 1
  fi
  touch "$STAMP"
fi
