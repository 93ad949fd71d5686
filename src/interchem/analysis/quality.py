"""Honest warnings about a screen's inputs: relaxations that did not converge, phases that moved far from
their input structure (card), electrolytes that had to be lowered far onto the hull, requested phases that
were skipped. Pure functions on the plain records a screen stores; no I/O.

Thresholds (stated here, reported with every warning):

* unconverged: the relaxation stopped at its step limit with forces above fmax (atomate2's
  ``is_force_converged`` is False). Energies of such a phase are upper bounds.
* moved: |volume change| > ``MOVED_VOLUME_PERCENT`` (10 %), or pymatgen's ``StructureMatcher`` with its
  default tolerances (ltol 0.2, stol 0.3, angle_tol 5 deg, volumes scaled) no longer maps the relaxed
  structure onto the input. Either means the model's minimum is another structure than the card's.
* electrolyte above hull: E_hull > ``ELECTROLYTE_EHULL_EV_PER_ATOM`` (50 meV/atom). Its window is then
  that of a structure lowered by that much (Zhu et al.'s placement), not of the model's own phase.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel

MOVED_VOLUME_PERCENT = 10.0
ELECTROLYTE_EHULL_EV_PER_ATOM = 0.050
MATCHER_THRESHOLD = "StructureMatcher(ltol=0.2, stol=0.3, angle_tol=5) maps relaxed onto input"

WarningKind = Literal[
    "unconverged", "moved_volume", "moved_structure", "electrolyte_above_hull", "skipped", "committee_disagreement"
]


class ScreenWarning(BaseModel):
    """One machine-readable warning: what, about which phase, the measured value and the threshold."""

    kind: WarningKind
    phase: str | None = None
    value: Any = None
    threshold: Any = None
    message: str


def relaxation_warnings(relaxations: Iterable[Mapping[str, Any]]) -> list[ScreenWarning]:
    """Unconverged and moved relaxations, one warning per phase and kind."""
    out: list[ScreenWarning] = []
    for r in relaxations:
        phase = r.get("phase")
        if r.get("converged") is False:
            steps = r.get("n_steps")
            out.append(
                ScreenWarning(
                    kind="unconverged",
                    phase=phase,
                    value=steps,
                    threshold="forces below fmax",
                    message=f"relaxation of {phase} did not converge"
                    + (f" ({steps} steps)" if steps is not None else "")
                    + ": its energy is an upper bound",
                )
            )
        dv = r.get("volume_change_percent")
        if dv is not None and abs(dv) > MOVED_VOLUME_PERCENT:
            out.append(
                ScreenWarning(
                    kind="moved_volume",
                    phase=phase,
                    value=round(float(dv), 2),
                    threshold=MOVED_VOLUME_PERCENT,
                    message=f"{phase} changed volume by {dv:+.1f} % on relaxation (limit ±{MOVED_VOLUME_PERCENT:g} %)",
                )
            )
        if r.get("matches_input") is False:
            out.append(
                ScreenWarning(
                    kind="moved_structure",
                    phase=phase,
                    value=False,
                    threshold=MATCHER_THRESHOLD,
                    message=f"{phase} relaxed into a different structure: StructureMatcher no longer maps it "
                    "onto its input",
                )
            )
    return out


def hull_warnings(windows: Mapping[str, Mapping[str, Any]]) -> list[ScreenWarning]:
    """Electrolytes placed on the hull by more than ``ELECTROLYTE_EHULL_EV_PER_ATOM``."""
    out = []
    for name, w in windows.items():
        e = w.get("e_above_hull_eV_per_atom")
        if e is not None and e > ELECTROLYTE_EHULL_EV_PER_ATOM:
            out.append(
                ScreenWarning(
                    kind="electrolyte_above_hull",
                    phase=name,
                    value=round(1000 * float(e), 1),
                    threshold=1000 * ELECTROLYTE_EHULL_EV_PER_ATOM,
                    message=f"electrolyte {name} is {1000 * e:.0f} meV/atom above the hull (limit "
                    f"{1000 * ELECTROLYTE_EHULL_EV_PER_ATOM:.0f}): its window is that of a phase lowered onto it",
                )
            )
    return out


def screen_warnings(analysis: Mapping[str, Any], relaxations: Iterable[Mapping[str, Any]]) -> list[ScreenWarning]:
    """Every warning of a stored screen: skipped phases (the analysis's own), relaxations, hull placement."""
    skipped = [ScreenWarning(kind="skipped", message=m) for m in analysis.get("warnings", [])]
    return [*relaxation_warnings(relaxations), *hull_warnings(analysis.get("windows", {})), *skipped]
