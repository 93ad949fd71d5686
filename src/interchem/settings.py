"""The one settings object: environment (INTERCHEM_*), an optional YAML file, then explicit overrides.

Precedence (highest first): keyword arguments (the CLI passes its flags here) > environment variables
> the YAML file named by INTERCHEM_CONFIG (default ~/.interchem/config.yaml) > defaults.
Secrets are SecretStr so they never print in logs, reprs or stored documents.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from interchem.errors import SettingsError

DEFAULT_CONFIG = Path.home() / ".interchem" / "config.yaml"


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the YAML config file; pydantic-settings has YAML support only with an extra dependency."""

    def get_field_value(self, field, field_name):  # pragma: no cover - required by the ABC, unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(os.environ.get("INTERCHEM_CONFIG", DEFAULT_CONFIG)).expanduser()
        if not path.is_file():
            return {}
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "unreadable"
            raise SettingsError(f"config file {path} is not valid YAML{where}: {problem}") from None
        if not isinstance(data, dict):
            raise SettingsError(f"config file {path} must hold a mapping of settings, not {type(data).__name__}")
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTERCHEM_", extra="ignore")

    store_path: Path = Field(
        default=Path("interchem-store"),
        description="folder of the embedded on-disk store (SQLite files); created on first use",
    )
    store_uri: SecretStr | None = Field(
        default=None, description="MongoDB URI; when set, results go to MongoDB instead of the embedded store"
    )
    output_dir: Path = Field(default=Path("interchem-output"), description="where reports are written")
    calculator: str = Field(default="chgnet", description="default calculator name")
    screen_calculator: str = Field(
        default="sevennet",
        description="the main job's (interchem screen, report, tieline, submit screen) default model: SevenNet-0, "
        "chosen by the three-model validation table in the README; a calculator the user sets (flag, "
        "INTERCHEM_CALCULATOR, config file) takes precedence",
    )
    mp_api_key: SecretStr | None = Field(default=None, description="Materials Project API key (or MP_API_KEY)")
    relax_fmax: float = Field(default=0.05, gt=0, description="force threshold of relaxations (eV/A)")
    relax_steps: int = Field(default=300, gt=0, description="maximum optimiser steps per relaxation")
    torch_threads: int | None = Field(default=None, description="torch intra-op threads (None: torch default)")
    # Scale-out (jobflow-remote + Slurm, FireWorks); see docs/cluster.md.
    remote_project: str = Field(
        default="interchem", description="jobflow-remote project name used by `interchem submit`"
    )
    remote_projects_folder: Path | None = Field(
        default=None, description="where jobflow-remote project files live (None: jobflow-remote's ~/.jfremote)"
    )
    store_timeout_ms: int = Field(
        default=3000, gt=0, description="how long the pre-submit store check waits for MongoDB"
    )
    trusted_models: list[Path] = Field(
        default_factory=list,
        description="model files (MACE) you trust to unpickle in full: loading a pickle can run code it holds; "
        "others load with torch's weights_only or are refused (or mark one spec: mace:model=PATH,trusted=true)",
    )
    checkpoint_dir: Path | None = Field(
        default=None,
        description="MD checkpoints (keyed by a hash of the inputs). None: local runs use checkpoints/ beside "
        "their job folders (<output_dir>/jobs/checkpoints), other jobs (jobflow-remote, FireWorks) checkpoints/ "
        "in their working folder; on clusters name a folder on a filesystem shared by the nodes",
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, _YamlSource(settings_cls), file_secret_settings)

    def resolved_mp_api_key(self) -> SecretStr | None:
        """INTERCHEM_MP_API_KEY, else the MP_API_KEY that mp-api itself reads."""
        if self.mp_api_key and self.mp_api_key.get_secret_value():
            return self.mp_api_key
        key = os.environ.get("MP_API_KEY")
        return SecretStr(key) if key else None


def screen_default(settings: Settings) -> str:
    """The model of a thermodynamic screen when no ``-c`` is given: ``calculator`` if the user set it
    anywhere (environment, config file, flag), else ``screen_calculator``."""
    return settings.calculator if "calculator" in settings.model_fields_set else settings.screen_calculator


def get_settings(**overrides: Any) -> Settings:
    """The settings with ``overrides`` on top; an invalid value raises ``SettingsError`` naming the
    setting, the value and where it came from (flag, environment variable or config file)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(err, given) for err in exc.errors())) from None


def _describe(err: dict, given: dict[str, Any]) -> str:
    """One validation error as a sentence a user can act on (never the value of a secret)."""
    name = str(err["loc"][0]) if err.get("loc") else "?"
    env = f"INTERCHEM_{name.upper()}"
    if name in given:
        source = "given on the command line"
    elif env in os.environ:
        source = f"from the environment variable {env}"
    else:
        source = f"from the config file {Path(os.environ.get('INTERCHEM_CONFIG', DEFAULT_CONFIG)).expanduser()}"
    secret = name in {"store_uri", "mp_api_key"}
    value = "" if secret else f" = {err.get('input')!r}"
    return f"setting {name}{value} ({source}) is invalid: {err['msg'].lower()}"
