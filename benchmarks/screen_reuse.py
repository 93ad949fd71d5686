"""Main job wall time, and the ratio of a second run (populated store) to the first.

Both runs happen in this one process, one after the other, on a fresh temporary store, so machine
noise affects them alike; the ratio is the number to watch, not the absolute seconds.

    .venv/bin/python benchmarks/screen_reuse.py [--quick] [--calculator chgnet]

Writes benchmarks/results/screen_reuse[_quick].json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _record import write_result

from interchem.runner import plan_screen, run_screen
from interchem.settings import get_settings
from interchem.workflows.pipelines import QUICK_ANODES, QUICK_ELECTROLYTES


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calculator", default="chgnet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = get_settings(store_path=Path(tmp) / "store", output_dir=Path(tmp) / "out")
        electrolytes = QUICK_ELECTROLYTES if args.quick else None
        anodes = QUICK_ANODES if args.quick else None
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            plan = plan_screen(electrolytes, anodes, args.calculator, settings=settings)
            result = run_screen(plan, settings=settings)
            timings.append(time.perf_counter() - start)
        reused = sum(1 for r in result.relaxations if r.get("reused"))
    record = {
        "benchmark": "screen_reuse",
        "quick": args.quick,
        "calculator": args.calculator,
        "phases": len(result.relaxations),
        "reused_in_second_run": reused,
        "first_run_s": round(timings[0], 2),
        "second_run_s": round(timings[1], 2),
        "second_over_first": round(timings[1] / timings[0], 4),
    }
    write_result(f"screen_reuse{'_quick' if args.quick else ''}", record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
