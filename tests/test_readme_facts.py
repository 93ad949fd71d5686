"""Numbers the README states about what a command does, checked against the code that does it."""

from __future__ import annotations

import re

from paths import ROOT


def test_readme_states_what_quick_relaxes(monkeypatch, tmp_path):
    """`--quick` is not "three anodes vs Li6PS5Cl" only: the README names the count and the phases that
    the quick screen's plan (offline cards, no MP key) relaxes."""
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.delenv("INTERCHEM_MP_API_KEY", raising=False)
    from interchem.runner import plan_screen
    from interchem.workflows.pipelines import QUICK_ANODES, QUICK_ELECTROLYTES

    plan = plan_screen(list(QUICK_ELECTROLYTES), list(QUICK_ANODES), "chgnet")
    text = " ".join((ROOT / "README.md").read_text().split())
    pattern = r"`--quick` screens .*?relaxes (\d+) phases\*\*, all the offline phase cards of [^:]+: ([^(]+)\("
    m = re.search(pattern, text)
    assert m, "README does not say how many phases --quick relaxes"
    assert int(m.group(1)) == len(plan.phases)
    assert [p.strip() for p in m.group(2).split(",")] == sorted(plan.phases)


def test_readme_states_the_claim_timings_of_mongodb_stores():
    """The heartbeat period and the takeover delay the README and docs/cluster.md give are the code's."""
    from interchem.workflows.claims import CLAIM_STALE_S, HEARTBEAT_S

    for doc in ("README.md", "docs/cluster.md"):
        text = " ".join((ROOT / doc).read_text().split())
        m = re.search(r"heartbeat (?:refreshed )?every (\d+) s.*?after (\d+) s without", text)
        assert m, f"{doc} does not say how often claims beat and when they are taken over"
        assert (float(m.group(1)), float(m.group(2))) == (HEARTBEAT_S, CLAIM_STALE_S), doc
