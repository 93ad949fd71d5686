#!/usr/bin/env bash
# Creates .venv (Python 3.11) with interchem and its pinned dependencies, offline-capable afterwards.
# torch is held at the CPU wheel 2.13.0 by constraints.txt; uv resolves ~6x faster than pip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${INTERCHEM_PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 "$HOME/.pyenv/versions/3.11.7/bin/python3" python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python 3.11 not found (set INTERCHEM_PYTHON)" >&2; exit 1; }
# System packages (Debian): CP2K for the DFT backend and its tests. Needs root and apt; set
# INTERCHEM_SKIP_APT=1 to skip (the CP2K tests then skip, unless INTERCHEM_REQUIRE_CP2K=1).
if [ "${INTERCHEM_SKIP_APT:-0}" != 1 ] && ! command -v cp2k_shell >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian packages cp2k cp2k-data"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cp2k cp2k-data >/dev/null) \
    || echo "setup: warning: could not install cp2k (CP2K calculator unavailable)" >&2
fi
# Slurm + munge for the scale-out integration tests (a single-node Slurm started by the tests).
if [ "${INTERCHEM_SKIP_APT:-0}" != 1 ] && ! command -v sbatch >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian packages slurm-wlm munge"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null) \
    || echo "setup: warning: could not install slurm-wlm/munge (Slurm tests unavailable)" >&2
fi
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip uv
# uv ignores pip's find-links config: point it at the local wheel folder that holds the CPU torch.
FIND_LINKS=()
for d in ${PIP_FIND_LINKS:-} /opt/wheels; do [ -d "$d" ] && FIND_LINKS+=(--find-links "$d"); done
# --compile-bytecode: byte-compile at install. Where PYTHONDONTWRITEBYTECODE is set (as on these machines)
# Python never caches .pyc, and every process compiles torch, sevenn and pymatgen again (~13 s of each
# CLI call, each Slurm job and each test subprocess, measured on a re-run of the main job).
UV_ARGS=(--python .venv/bin/python -c constraints.txt --compile-bytecode "${FIND_LINKS[@]}")
.venv/bin/uv pip install "${UV_ARGS[@]}" "torch==2.13.0"
.venv/bin/uv pip install "${UV_ARGS[@]}" -e ".[test,sevennet]"
.venv/bin/python -m compileall -q src >/dev/null  # the editable interchem itself
# MongoDB wire-protocol server for the integration tests: mongoeco needs Python >= 3.13 (pyenv 3.13.0),
# so it gets its own small venv; tests/services.py starts it on 127.0.0.1.
PY313=${INTERCHEM_PYTHON313:-}
if [ -z "$PY313" ] && command -v pyenv >/dev/null 2>&1; then PY313="$(pyenv root)/versions/3.13.0/bin/python"; fi
if [ -n "$PY313" ] && [ -x "$PY313" ]; then
  if [ ! -x .services/mongoeco-venv/bin/python ]; then .venv/bin/uv venv -q -p "$PY313" .services/mongoeco-venv; fi
  .venv/bin/uv pip install -q --python .services/mongoeco-venv/bin/python "mongoeco==4.11.0" "pymongo==4.10.1" \
    || echo "setup: warning: could not install mongoeco (MongoDB tests unavailable)" >&2
else
  echo "setup: warning: Python 3.13 not found for mongoeco (set INTERCHEM_PYTHON313); MongoDB tests unavailable" >&2
fi
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch, interchem; print("torch", torch.__version__, "interchem", interchem.__version__)'))"
