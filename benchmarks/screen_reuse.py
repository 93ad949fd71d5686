"""Main job wall time as a user runs it, and the ratio of a re-run (populated store) to the cold run.

Both runs are ``interchem screen`` commands (new processes: start-up, imports and figures included),
one after the other, in one fresh temporary folder (store and report there), so machine noise affects
them alike; the ratio is the number to watch, not the absolute seconds. Without ``--calculator`` the
command's own default runs (SevenNet-0 for the screen). The issue's goal: re-run <= 5 % of the cold run.

    .venv/bin/python benchmarks/screen_reuse.py [--quick] [--calculator chgnet]

Writes benchmarks/results/screen_reuse[_quick][_<calculator>].json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _record import write_result


def _screen(args: list[str], cwd: Path) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHEM_")}
    env["INTERCHEM_CONFIG"] = str(cwd / "no-config.yaml")  # defaults only: no user config is read
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "interchem.cli", "screen", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if r.returncode != 0:
        raise RuntimeError(f"interchem screen {' '.join(args)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return time.perf_counter() - t0, r.stdout + r.stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calculator", default=None, help="default: the screen's own default model")
    args = parser.parse_args()
    cli = (["--quick"] if args.quick else []) + (["-c", args.calculator] if args.calculator else [])
    with tempfile.TemporaryDirectory(prefix="interchem-reuse-bench-") as tmp:
        cold_s, _ = _screen(cli, Path(tmp))
        rerun_s, text = _screen(cli, Path(tmp))
        summary = json.loads((Path(tmp) / "interchem-output" / "summary.json").read_text())
    phases, reused = (int(x) for x in re.search(r"(\d+) phases \((\d+) reused from the store\)", text).groups())
    record = {
        "benchmark": "screen_reuse",
        "command": " ".join(["interchem screen", *cli]),
        "quick": args.quick,
        "calculator": summary["calculator"],
        "phases": phases,
        "reused_in_second_run": reused,
        "first_run_s": round(cold_s, 2),
        "second_run_s": round(rerun_s, 2),
        "second_over_first": round(rerun_s / cold_s, 4),
        "goal_second_over_first": 0.05,
    }
    tag = ("_quick" if args.quick else "") + (f"_{args.calculator.split(':')[0]}" if args.calculator else "")
    write_result(f"screen_reuse{tag}", record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
