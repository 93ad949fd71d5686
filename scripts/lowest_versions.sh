#!/usr/bin/env bash
# The weekly check that pyproject.toml's lower bounds are true: a separate venv (.venv-lowest) gets the
# LOWEST version every direct dependency allows (uv's --resolution lowest-direct; transitive ones resolve
# normally), torch held at the CPU wheel 2.13.0, and runs the tests that need no external service.
# A failure means a lower bound in pyproject.toml is too low: raise it to the version that works.
#
#     bash scripts/lowest_versions.sh [pytest args]      (default: the unit tests, -m "not integration")
#
# Not part of .ci/run (it downloads a second environment); run it weekly or before a release.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${INTERCHEM_PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 "$HOME/.pyenv/versions/3.11.7/bin/python3" python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "lowest_versions: Python 3.11 not found (set INTERCHEM_PYTHON)" >&2; exit 1; }
VENV=${INTERCHEM_LOWEST_VENV:-.venv-lowest}
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip uv
FIND_LINKS=()
for d in ${PIP_FIND_LINKS:-} /opt/wheels; do [ -d "$d" ] && FIND_LINKS+=(--find-links "$d"); done
TORCH_ONLY=$(mktemp)
trap 'rm -f "$TORCH_ONLY"' EXIT
echo "torch==2.13.0" > "$TORCH_ONLY"   # only torch is held; everything else resolves lowest-direct
"$VENV/bin/uv" pip install --python "$VENV/bin/python" "${FIND_LINKS[@]}" "torch==2.13.0"
"$VENV/bin/uv" pip install --python "$VENV/bin/python" "${FIND_LINKS[@]}" -c "$TORCH_ONLY" \
  --resolution lowest-direct -e ".[test,sevennet]"
echo "lowest_versions: direct dependencies installed at their lower bounds:"
"$VENV/bin/python" - <<'PY'
import re, tomllib
from importlib.metadata import version
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
for d in deps:
    name = re.split(r"[<>=!\[ ]", d, maxsplit=1)[0]
    print(f"  {d:28s} -> {version(name)}")
PY
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -m "not integration" "${@:-tests}"
