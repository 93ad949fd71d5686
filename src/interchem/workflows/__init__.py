"""Thin jobflow Makers. Each takes a CalculatorSpec; none has a code path per calculator."""

from interchem.workflows.thermo import RelaxPhaseMaker, ScreenMaker

__all__ = ["RelaxPhaseMaker", "ScreenMaker"]
