"""torch's safe loading stays on for everything but the model files that need full unpickling: the
weights inside the CHGNet / SevenNet wheels and MACE files the user marked trusted. A pickle that would
run code is refused, with the way to mark a trusted file."""

from __future__ import annotations

import os

import pytest
import torch

from interchem.calculators import CalculatorSpec, ase_calculator, check_calculator
from interchem.errors import CalculatorSettingsError

FLAG = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


class _RunsCode:
    """Unpickling this calls ``open(marker, "w")``: what a malicious model file could do."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture()
def evil_model(tmp_path):
    path = tmp_path / "evil.model"
    torch.save(_RunsCode(str(tmp_path / "code-ran")), path)
    return path


def test_loading_chgnet_leaves_torch_safe_loading_on(monkeypatch, evil_model):
    monkeypatch.delenv(FLAG, raising=False)
    calc = ase_calculator(CalculatorSpec.parse("chgnet"), cached=False)
    assert calc.model is not None
    assert FLAG not in os.environ  # not set process-wide
    with pytest.raises(Exception, match="[Ww]eights.only"):
        torch.load(evil_model)  # any other load in the process is still safe
    assert not (evil_model.parent / "code-ran").exists()


def test_an_untrusted_pickled_mace_file_is_refused_with_the_way_to_trust_it(monkeypatch, evil_model):
    monkeypatch.delenv(FLAG, raising=False)
    monkeypatch.delenv("INTERCHEM_TRUSTED_MODELS", raising=False)
    with pytest.raises(CalculatorSettingsError, match=f"mace:model={evil_model},trusted=true"):
        check_calculator(CalculatorSpec.parse(f"mace:model={evil_model}"))
    assert not (evil_model.parent / "code-ran").exists()  # refused before any of its code ran
    assert FLAG not in os.environ


def test_even_with_the_torch_override_set_an_untrusted_file_is_loaded_safely(monkeypatch, evil_model):
    monkeypatch.setenv(FLAG, "1")  # a user's shell may have it from older advice
    monkeypatch.delenv("INTERCHEM_TRUSTED_MODELS", raising=False)
    with pytest.raises(CalculatorSettingsError, match="trusted=true"):
        check_calculator(CalculatorSpec.parse(f"mace:model={evil_model}"))
    assert not (evil_model.parent / "code-ran").exists()


def test_a_trusted_mace_file_loads_and_trust_does_not_change_the_cache_key(monkeypatch, tiny_mace):
    monkeypatch.delenv(FLAG, raising=False)
    monkeypatch.delenv("INTERCHEM_TRUSTED_MODELS", raising=False)
    with pytest.raises(CalculatorSettingsError, match="trusted=true"):
        check_calculator(CalculatorSpec.parse(f"mace:model={tiny_mace}"))
    trusted = CalculatorSpec.parse(f"mace:model={tiny_mace},trusted=true")
    assert "Li" in check_calculator(trusted).supported_elements(trusted)
    assert ase_calculator(trusted, cached=False) is not None
    assert FLAG not in os.environ
    assert trusted.key() == CalculatorSpec.parse(f"mace:model={tiny_mace}").key()
    # The setting trusts a listed file as well (how the test session trusts the tiny model it builds).
    monkeypatch.setenv("INTERCHEM_TRUSTED_MODELS", f'["{tiny_mace}"]')
    check_calculator(CalculatorSpec.parse(f"mace:model={tiny_mace}"))
