"""Stores: the settings switch between the embedded store and MongoDB (a real MongoDB-protocol server,
mongoeco, started by tests/services.py), large data in the data store, credentials never leaked."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from jobflow import Flow, job, run_locally
from services import MONGO_PASSWORD

from interchem.errors import StoreConfigError, StoreConnectionError
from interchem.settings import get_settings
from interchem.store import (
    OFFLOAD_BYTES,
    SettingsGridFSStore,
    SettingsMongoStore,
    check_store,
    embedded_store,
    make_job_store,
    offload_large,
)

pytestmark = pytest.mark.integration


def _trajectory(n_frames: int, n_atoms: int, seed: int = 0):
    """A pymatgen Trajectory of n_frames x n_atoms Si (positions as float64: ~n_frames*n_atoms*24*3 bytes)."""
    from pymatgen.core import Lattice, Structure
    from pymatgen.core.trajectory import Trajectory

    rng = np.random.default_rng(seed)
    base = Structure(Lattice.cubic(20.0), ["Si"] * n_atoms, rng.random((n_atoms, 3)))
    coords = rng.random((n_frames, n_atoms, 3))
    return Trajectory(
        lattice=base.lattice,
        species=base.species,
        coords=coords,
        frame_properties=[{"energy": float(i)} for i in range(n_frames)],
    )


@job
def md_like(n_frames: int, n_atoms: int):
    """Returns its trajectory under an ordinary output key: the job declares no data store."""
    return {"n_frames": n_frames, "trajectory": _trajectory(n_frames, n_atoms), "energy": -1.0}


def test_switch_embedded_vs_mongo(isolated_settings, mongo_settings):
    assert "embedded" in check_store(isolated_settings)
    store = make_job_store(isolated_settings)
    assert type(store.docs_store).__name__ == "OffloadingMontyStore"
    store = make_job_store(mongo_settings)
    assert isinstance(store.docs_store, SettingsMongoStore)
    assert isinstance(store.additional_stores["data"], SettingsGridFSStore)
    assert "MongoDB at 127.0.0.1" in check_store(mongo_settings)


def test_trajectory_over_16_mb_goes_to_gridfs_and_reads_back(mongo_settings, mongo_server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    # 1100 frames x 260 atoms x 3 float64 coords ~ 6.9 MB raw, > 16 MB as a monty/BSON list of lists.
    flow = Flow([md_like(1100, 260)])
    store = make_job_store(mongo_settings)
    responses = run_locally(flow, store=store, root_dir=tmp_path, ensure_success=True, log=False)
    uuid = flow.jobs[0].uuid
    store.connect()
    raw = store.query_one({"uuid": uuid}, load=False)
    ref = raw["output"]["trajectory"]
    assert set(ref) >= {"blob_uuid", "store"} and ref["store"] == "data"  # only a reference in the document
    import bson

    assert len(bson.encode(raw)) < 1_000_000
    # the blob is in GridFS, and it is really larger than MongoDB's document limit
    client = mongo_server.client()
    db = client[store.docs_store.database]
    files = list(db["data.files"].find({"metadata.blob_uuid": ref["blob_uuid"]}))
    assert len(files) == 1 and files[0]["length"] > 16 * 1024 * 1024
    # ... and it reads back equal through the JobStore
    out = store.get_output(uuid, load=True)
    from pymatgen.core.trajectory import Trajectory

    traj = out["trajectory"] if isinstance(out["trajectory"], Trajectory) else Trajectory.from_dict(out["trajectory"])
    expected = _trajectory(1100, 260)
    assert len(traj) == 1100 and np.array_equal(np.asarray(traj.coords), np.asarray(expected.coords))
    assert responses[uuid][1].output["n_frames"] == 1100
    store.close()
    # the password never appears in what was stored or logged
    for name in db.list_collection_names():
        for doc in db[name].find({}, projection={"data": 0}).limit(50):
            assert MONGO_PASSWORD not in str(doc)
    assert MONGO_PASSWORD not in caplog.text
    client.close()


def test_offload_rule_keeps_small_documents_whole():
    doc = {"uuid": "u", "index": 1, "output": {"energy": 1.0, "forces": [[0.0] * 3] * 10}}
    small, blobs = offload_large(doc)
    assert blobs == [] and small["output"]["forces"] == [[0.0] * 3] * 10
    big = {"uuid": "u", "index": 1, "output": {"a": list(range(10)), "b": "x" * (OFFLOAD_BYTES + 10)}}
    # a single big string is a leaf: nothing to split, the document is left as it is (MongoDB would refuse
    # only > 16 MB); lists/dicts are moved
    big2 = {"uuid": "u", "index": 1, "output": {"a": list(range(10)), "b": ["x" * 1000] * (OFFLOAD_BYTES // 900)}}
    small, blobs = offload_large(big2)
    assert len(blobs) == 1 and small["output"]["b"]["store"] == "data" and small["output"]["a"] == list(range(10))
    assert blobs[0]["job_uuid"] == "u" and blobs[0]["data"][0] == "x" * 1000
    assert offload_large(big)[1] == []


def test_embedded_store_uses_the_same_data_rule(tmp_path):
    flow = Flow([md_like(20, 4)])
    store = embedded_store(tmp_path / "store")
    run_locally(flow, store=store, root_dir=tmp_path, ensure_success=True, log=False)
    store.connect()
    raw = store.query_one({"uuid": flow.jobs[0].uuid}, load=False)
    assert raw["output"]["trajectory"]["store"] == "data"
    assert store.additional_stores["data"].count() == 1
    assert len(store.get_output(flow.jobs[0].uuid, load=True)["trajectory"]["coords"]) == 20
    store.close()


def test_credentials_never_serialised(mongo_settings):
    store = make_job_store(mongo_settings)
    text = str(store.as_dict()) + repr(store) + store.docs_store.name + store.additional_stores["data"].name
    assert MONGO_PASSWORD not in text
    store.connect()  # connected: still nothing in the serialised form
    text = str(store.as_dict()) + store.docs_store.name
    assert MONGO_PASSWORD not in text
    store.close()


def test_unreachable_store_and_wrong_credentials(mongo_server, tmp_path, monkeypatch):
    from services import free_port

    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    # a port where nothing listens
    dead = get_settings(store_uri=f"mongodb://u:{MONGO_PASSWORD}@127.0.0.1:{free_port()}/x")
    with pytest.raises(StoreConnectionError, match="unreachable") as info:
        check_store(dead, timeout_ms=500)
    assert MONGO_PASSWORD not in str(info.value)
    wrong = get_settings(store_uri=mongo_server.uri("x", password="wrong-pw"))
    with pytest.raises(StoreConnectionError, match="authentication failed") as info:
        check_store(wrong, timeout_ms=2000)
    assert "wrong-pw" not in str(info.value)
    with pytest.raises(StoreConfigError, match="malformed"):
        check_store(get_settings(store_uri="mongodb://a:b@:::/x"))


def test_screen_checks_the_store_before_any_job(mongo_server, mongo_settings, tmp_path, monkeypatch):
    """Issue 14: with an unreachable INTERCHEM_STORE_URI `screen` tried every job (10 s timeout each), failed
    after minutes, left job folders and its header named the embedded store. Now the store is checked first:
    one line naming host and database (never the password), no job folder, no embedded store; and with a
    reachable server the header names that server."""
    from services import free_port
    from typer.testing import CliRunner

    import interchem.runner
    from interchem.cli import app
    from interchem.errors import InterchemError

    out_dir, embedded = tmp_path / "out", tmp_path / "embedded"
    args = ["screen", "-e", "Li2S", "-a", "Si", "-o", str(out_dir), "-s", str(embedded)]
    port = free_port()
    monkeypatch.setenv("INTERCHEM_STORE_URI", f"mongodb://u:{MONGO_PASSWORD}@127.0.0.1:{port}/db")
    dead = CliRunner().invoke(app, args)
    assert dead.exit_code == 5, dead.output  # a service unreachable
    assert f"MongoDB at 127.0.0.1:{port}, database 'db' is unreachable" in " ".join(dead.output.split())
    assert MONGO_PASSWORD not in dead.output and "Traceback" not in dead.output
    assert not out_dir.exists() and not embedded.exists()

    # reachable: the header names the server; the run itself is cut short after it (not what is tested here)
    monkeypatch.setenv("INTERCHEM_STORE_URI", mongo_settings.store_uri.get_secret_value())

    def stop(*args, **kwargs):
        raise InterchemError("stopped by the test after the header")

    monkeypatch.setattr(interchem.runner, "run_screen", stop)
    live = CliRunner().invoke(app, args)
    header = " ".join(live.output.split())
    assert "stopped by the test" in header
    assert f"MongoDB at 127.0.0.1:{mongo_server.port}, database" in header and "embedded" not in header
    assert MONGO_PASSWORD not in live.output
