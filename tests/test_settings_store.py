"""Settings precedence, secrets hidden, and the embedded store surviving the process."""

from __future__ import annotations

import subprocess
import sys

from interchem.settings import get_settings
from interchem.store import describe, embedded_store


def test_precedence_kwargs_over_env_over_yaml(tmp_path, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("calculator: emt\nrelax_steps: 11\noutput_dir: from-yaml\n")
    monkeypatch.setenv("INTERCHEM_CONFIG", str(cfg))
    monkeypatch.setenv("INTERCHEM_RELAX_STEPS", "22")
    monkeypatch.delenv("INTERCHEM_CALCULATOR", raising=False)  # conftest pins it for the plumbing tests
    s = get_settings(output_dir=None)
    assert s.calculator == "emt" and s.relax_steps == 22 and str(s.output_dir) == "from-yaml"
    assert get_settings(relax_steps=33).relax_steps == 33


def test_secrets_never_print(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.setenv("INTERCHEM_MP_API_KEY", "abcdefghijklmnopqrstuvwxyz012345")
    monkeypatch.setenv("INTERCHEM_STORE_URI", "mongodb://user:hunter2@localhost:27017/db")
    s = get_settings()
    text = repr(s) + str(s) + s.model_dump_json()
    assert "abcdefghijklmnop" not in text and "hunter2" not in text
    assert s.resolved_mp_api_key().get_secret_value().startswith("abcdef")


def test_mp_api_key_falls_back_to_mp_api_key_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.delenv("INTERCHEM_MP_API_KEY", raising=False)
    monkeypatch.setenv("MP_API_KEY", "k" * 32)
    assert get_settings().resolved_mp_api_key().get_secret_value() == "k" * 32


def test_embedded_store_persists_across_processes(tmp_path):
    path = tmp_path / "store"
    code = (
        "from interchem.store import embedded_store; s = embedded_store({p!r}); s.connect();"
        "s.docs_store.update([{{'uuid': 'u1', 'index': 1, 'output': {{'x': 42}}}}], key=['uuid', 'index']); s.close()"
    ).format(p=str(path))
    subprocess.run([sys.executable, "-c", code], check=True)
    store = embedded_store(path)
    store.connect()
    assert store.query_one({"uuid": "u1"})["output"]["x"] == 42
    assert "embedded store" in describe(store)
    store.close()
