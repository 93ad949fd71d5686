"""SLURM resources of a submission, from CLI flags and/or a YAML file (flags win)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from interchem.errors import SubmissionError

SECRET_VARIABLES = ("INTERCHEM_STORE_URI", "INTERCHEM_MP_API_KEY", "MP_API_KEY")
_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}(:\d{2})?$|^\d+$")


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nodes: int = Field(1, ge=1)
    ntasks: int = Field(1, ge=1)
    cpus_per_task: int = Field(1, ge=1)
    walltime: str = "01:00:00"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    mem: str | None = None
    modules: list[str] = Field(default_factory=list)
    pre_run: str | None = None

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, v: str) -> str:
        v = str(v).strip()
        if not _WALLTIME.match(v):
            raise ValueError(f"walltime {v!r} is not HH:MM:SS, D-HH:MM:SS or minutes")
        return v

    def qtk_resources(self, job_name: str | None = None) -> dict[str, Any]:
        """Keys of qtoolkit's SLURM template (``#SBATCH --partition`` ...)."""
        out: dict[str, Any] = {
            "nodes": self.nodes,
            "ntasks": self.ntasks,
            "cpus_per_task": self.cpus_per_task,
            "time": self.walltime,
        }
        for key in ("partition", "account", "qos", "mem"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if job_name:
            out["job_name"] = job_name
        # Jobs inherit the runner's environment (sbatch --export=ALL), and Slurm keeps a copy of it in its
        # state: blank the secrets there. Workers do not need them (the runner stores the results).
        out["qverbatim"] = "#SBATCH --export=ALL," + ",".join(f"{v}=" for v in SECRET_VARIABLES)
        return out

    def exec_config(self):
        from jobflow_remote.config.base import ExecutionConfig

        return ExecutionConfig(
            modules=self.modules or None,
            pre_run=self.pre_run,
            # INTERCHEM_REPORT_SIGTERM: a cancelled job records that it was cancelled (interchem/__init__.py)
            export={"OMP_NUM_THREADS": str(self.cpus_per_task), "INTERCHEM_REPORT_SIGTERM": "1"},
        )


def load_resources(path: str | Path | None = None, **overrides: Any) -> Resources:
    """Resources from a YAML file (optional) with CLI overrides (None values ignored)."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise SubmissionError(f"resources file {str(p)!r} does not exist")
        loaded = yaml.safe_load(p.read_text()) or {}
        if not isinstance(loaded, dict):
            raise SubmissionError(f"resources file {str(p)!r} must hold a mapping (nodes, ntasks, walltime, ...)")
        data.update(loaded)
    data.update({k: v for k, v in overrides.items() if v is not None and v != []})
    try:
        return Resources.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise SubmissionError(f"bad resource {where!r}: {first['msg']}") from None
