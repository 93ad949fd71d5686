"""Invalid settings are one clear error naming the setting, its value and its source (flag, environment
variable, config file), never a pydantic or YAML traceback; secrets are never echoed."""

from __future__ import annotations

import pytest

from interchem.errors import InterchemError, SettingsError
from interchem.settings import get_settings


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "absent.yaml"))
    for name in ("INTERCHEM_RELAX_FMAX", "INTERCHEM_RELAX_STEPS", "INTERCHEM_STORE_URI"):
        monkeypatch.delenv(name, raising=False)


def test_flag_value_names_the_setting_and_the_flag():
    with pytest.raises(SettingsError, match=r"relax_fmax = 0 \(given on the command line\).*greater than 0"):
        get_settings(relax_fmax=0)
    with pytest.raises(SettingsError, match=r"relax_steps = -1 .*greater than 0"):
        get_settings(relax_steps=-1)


def test_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("INTERCHEM_RELAX_FMAX", "abc")
    with pytest.raises(
        SettingsError, match=r"relax_fmax = 'abc' \(from the environment variable INTERCHEM_RELAX_FMAX\)"
    ):
        get_settings()


def test_config_file_value_names_the_file(tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("relax_fmax: -1\n")
    monkeypatch.setenv("INTERCHEM_CONFIG", str(config))
    with pytest.raises(SettingsError, match=rf"relax_fmax = -1 \(from the config file {config}\)"):
        get_settings()


def test_malformed_yaml_names_file_and_line(tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("relax_fmax: 0.05\nstore_path: [unclosed\n")
    monkeypatch.setenv("INTERCHEM_CONFIG", str(config))
    with pytest.raises(SettingsError, match=rf"config file {config} is not valid YAML at line \d+"):
        get_settings()
    config.write_text("- a list\n- not a mapping\n")
    with pytest.raises(InterchemError, match="must hold a mapping"):
        get_settings()


def test_a_bad_secret_is_not_echoed(monkeypatch):
    monkeypatch.setenv("INTERCHEM_STORE_URI", "mongodb://user:hunter2@host/db")
    # A valid secret passes; an invalid non-secret next to it is named without printing the secret.
    with pytest.raises(SettingsError) as info:
        get_settings(relax_fmax=-2)
    assert "hunter2" not in str(info.value)


def test_the_main_job_defaults_to_sevennet_unless_the_user_sets_a_calculator(tmp_path, monkeypatch):
    """The screen's default model is SevenNet-0 (chosen by the README's three-model table); a calculator the
    user sets anywhere (environment, config file, flag) wins; other commands keep ``calculator``."""
    from interchem.calculators import CalculatorSpec
    from interchem.runner import plan_screen
    from interchem.settings import screen_default

    monkeypatch.delenv("INTERCHEM_CALCULATOR", raising=False)
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    settings = get_settings()
    assert screen_default(settings) == "sevennet" and settings.calculator == "chgnet"
    plan = plan_screen(["Li2S"], ["Li"], None, settings=settings)
    assert plan.calculator == CalculatorSpec.parse("sevennet")
    monkeypatch.setenv("INTERCHEM_CALCULATOR", "chgnet")
    assert screen_default(get_settings()) == "chgnet"
    monkeypatch.delenv("INTERCHEM_CALCULATOR")
    config = tmp_path / "config.yaml"
    config.write_text("calculator: chgnet\n")
    monkeypatch.setenv("INTERCHEM_CONFIG", str(config))
    assert screen_default(get_settings()) == "chgnet"
    assert screen_default(get_settings(calculator="chgnet")) == "chgnet"
