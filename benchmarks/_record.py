"""What every benchmark records beside its numbers, and where: one place for the machine facts and the
results/ JSON file (runs are compared as ratios within one file, never across machines)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def machine_info() -> dict[str, Any]:
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency
        threads = None
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not available on every platform
        load = None
    return {
        "cpus": os.cpu_count(),
        "torch_threads": threads,
        "python": platform.python_version(),
        "node": platform.machine(),
        "load_average_at_end": load,
    }


def write_result(name: str, record: dict[str, Any]) -> Path:
    """Add machine facts and the date, write results/<name>.json, return its path."""
    record = {**record, "machine": machine_info(), "date": time.strftime("%Y-%m-%d")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
