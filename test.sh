#!/usr/bin/env bash
# The test suite: installs into .venv if needed, then runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/venv.sh test
exec "${DJBIOS_VENV:-.venv}/bin/python" -m pytest -q "$@"
