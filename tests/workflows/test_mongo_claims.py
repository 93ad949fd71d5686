"""Claims of cache keys on a MongoDB store (issue 14; ``workflows/claims.py``), against the real
MongoDB-protocol test server: two processes on one database compute a phase once (one record per key),
a claim whose holder stopped beating is taken over, a live one is waited for, claims go once stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from paths import ROOT
from pymatgen.core import Lattice, Structure
from services import MONGO_PASSWORD

from interchem.store import CLAIMS_COLLECTION, DOCS_COLLECTION, database_from_uri, make_job_store
from interchem.workflows import claims
from interchem.workflows.common import claim_or_reuse, release_claims

pytestmark = pytest.mark.integration

FMAX, STEPS = 0.05, 15
CHILD = """
import logging, sys
from pymatgen.core import Lattice, Structure
from interchem.calculators import CalculatorSpec
from interchem.runner import run_flow
from interchem.settings import get_settings
from interchem.workflows.thermo import relax_or_reuse
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
li = Structure(Lattice.cubic(3.44), ["Li", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5]])
flow = relax_or_reuse(li, "Li", CalculatorSpec.parse("chgnet"), {fmax}, {steps})
out = run_flow(flow, get_settings(output_dir=sys.argv[1]))
print("REUSED", out.get("reused"))
"""


def _li() -> Structure:
    return Structure(Lattice.cubic(3.44), ["Li", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.fixture()
def mongo(mongo_settings, mongo_server):
    """(connected JobStore, its database through a client of the test's own) on a fresh database."""
    database = database_from_uri(mongo_settings.store_uri.get_secret_value())
    store = make_job_store(mongo_settings)
    store.connect()
    client = mongo_server.client()
    yield store, client[database]
    release_claims(stored_only=False)  # whatever a failed test left held in this process
    client.close()
    store.close()


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_two_processes_on_one_database_compute_a_phase_once(mongo, mongo_settings, tmp_path):
    from interchem.calculators import CalculatorSpec
    from interchem.runner import run_flow
    from interchem.workflows.thermo import relax_key, relax_or_reuse

    store, db = mongo
    spec = CalculatorSpec.parse("chgnet")
    key = relax_key(_li(), spec, FMAX, STEPS)
    # This process is the first run: it misses the store and claims the key (then computes it below) ...
    assert claim_or_reuse(store, key, what="relaxation of Li") is None
    doc = db[CLAIMS_COLLECTION].find_one({"_id": key})
    assert doc["pid"] == os.getpid() and doc["host"] and doc["run"]
    assert MONGO_PASSWORD not in json.dumps(doc, default=str)
    # ... the second run, another process on the same database, misses it too and must wait.
    log = tmp_path / "second.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(fmax=FMAX, steps=STEPS), str(tmp_path / "second-out")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 300
        while "Waiting for" not in log.read_text() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert child.poll() is None, log.read_text()  # waiting, not computing
        assert f"pid {os.getpid()}" in log.read_text()  # the wait names the holder
        first = run_flow(relax_or_reuse(_li(), "Li", spec, FMAX, STEPS), mongo_settings)
        assert first["calc_key"] == key and not first.get("reused")
        # released once stored (the runner's release_claims), so nothing is left to go stale
        assert db[CLAIMS_COLLECTION].count_documents({}) == 0
        out, _ = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    text = log.read_text()
    assert child.returncode == 0, text
    assert "REUSED True" in out, (out, text)  # the second run reused the first's result
    computed = db[DOCS_COLLECTION].count_documents({"output.calc_key": key, "output.reused": {"$ne": True}})
    assert computed == 1  # one record per cache key
    assert db[CLAIMS_COLLECTION].count_documents({}) == 0
    assert MONGO_PASSWORD not in text + out

    # a claim left behind (a killed worker's) breaks neither `results` nor the store check
    from typer.testing import CliRunner

    from interchem.cli import app

    db[CLAIMS_COLLECTION].insert_one({"_id": _key("left"), "host": "h", "pid": 1, "run": "r", "heartbeat": 0})
    listed = CliRunner().invoke(app, ["results", "--json", "-"])
    assert listed.exit_code == 0, listed.output
    assert [r["phase"] for r in json.loads(listed.stdout)] == ["Li"]


def test_a_claim_without_heartbeat_is_taken_over_and_released(mongo):
    store, db = mongo
    key = _key("stale")
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=claims.CLAIM_STALE_S + 30)
    dead = {"_id": key, "host": "gone-host", "pid": 999999, "run": "dead-run", "since": old, "heartbeat": old}
    db[CLAIMS_COLLECTION].insert_one(dead)
    start = time.monotonic()
    assert claim_or_reuse(store, key, poll_s=0.1) is None  # this run computes it, at once
    assert time.monotonic() - start < 5
    doc = db[CLAIMS_COLLECTION].find_one({"_id": key})
    assert doc["pid"] == os.getpid() and doc["run"] == claims.holder_fields()["run"] != "dead-run"
    release_claims(stored_only=False)  # as after a failed job
    assert db[CLAIMS_COLLECTION].find_one({"_id": key}) is None


def test_a_live_claim_is_waited_for_and_its_stored_result_reused(mongo):
    store, db = mongo
    key = _key("live")
    now = dt.datetime.now(dt.timezone.utc)
    db[CLAIMS_COLLECTION].insert_one({"_id": key, "host": "other", "pid": 4242, "run": "other", "heartbeat": now})
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(claim_or_reuse(store, key, poll_s=0.1)), daemon=True)
    waiter.start()
    time.sleep(1.0)
    assert waiter.is_alive() and not got  # a live claim is not taken over
    assert db[CLAIMS_COLLECTION].find_one({"_id": key})["run"] == "other"
    record = {"uuid": "u-live", "index": 1, "output": {"calc_key": key, "energy_eV": -1.5}}
    store.docs_store.update(record, key=["uuid", "index"])  # the holder stores its result
    waiter.join(30)
    assert got and got[0]["energy_eV"] == -1.5 and not claims.is_held(key)


def test_heartbeat_keeps_a_held_claim_fresh_and_release_waits_for_the_store(mongo, monkeypatch):
    store, db = mongo
    monkeypatch.setattr(claims, "HEARTBEAT_S", 0.2)
    key = _key("beating")
    assert claim_or_reuse(store, key) is None
    first = db[CLAIMS_COLLECTION].find_one({"_id": key})["heartbeat"]
    time.sleep(1.0)
    assert db[CLAIMS_COLLECTION].find_one({"_id": key})["heartbeat"] > first
    release_claims(store)  # not stored yet: kept
    assert claims.is_held(key) and db[CLAIMS_COLLECTION].find_one({"_id": key}) is not None
    store.docs_store.update({"uuid": "u-beat", "index": 1, "output": {"calc_key": key}}, key=["uuid", "index"])
    release_claims(store)  # stored: given up
    assert not claims.is_held(key) and db[CLAIMS_COLLECTION].find_one({"_id": key}) is None


def test_a_failed_computation_and_an_ended_process_give_their_claims_up(mongo, mongo_settings):
    """Outside the local runner (FireWorks jobs) nobody calls release_claims: an "or reuse" job whose own
    computation fails gives its claim up, and so does a process that ends."""
    from interchem.workflows.common import giving_up_on_failure

    store, db = mongo
    key = _key("failing")
    assert claim_or_reuse(store, key) is None
    with pytest.raises(ValueError), giving_up_on_failure(key):
        raise ValueError("the calculation failed")
    assert not claims.is_held(key) and db[CLAIMS_COLLECTION].find_one({"_id": key}) is None

    ended = _key("ended")
    script = (
        "import sys\nfrom interchem.store import make_job_store\n"
        "from interchem.workflows.common import claim_or_reuse\n"
        "store = make_job_store(); store.connect(); assert claim_or_reuse(store, sys.argv[1]) is None\n"
        "from interchem.workflows.claims import holder_fields; print(holder_fields()['run'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script, ended], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()  # it held the claim ...
    assert db[CLAIMS_COLLECTION].find_one({"_id": ended}) is None  # ... and gave it up when it ended
