"""The store check against the real MongoDB-protocol test server (mongoeco, SCRAM-SHA-256 only): an
authentication failure says whether the mechanism or the credentials are wrong, never the password."""

from __future__ import annotations

import pytest
from services import MONGO_PASSWORD

from interchem.errors import StoreConnectionError
from interchem.settings import get_settings
from interchem.store import check_store

pytestmark = pytest.mark.integration


@pytest.fixture()
def no_config(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERCHEM_CONFIG", str(tmp_path / "none.yaml"))


def _uri(server, password: str, options: str) -> str:
    return f"mongodb://{server.user}:{password}@{server.host}:{server.port}/auth?{options}"


def test_uri_without_mechanism_is_told_to_name_it(mongo_server, no_config):
    # the URI the docs used to give: right credentials, default negotiation (which this server refuses)
    settings = get_settings(store_uri=_uri(mongo_server, MONGO_PASSWORD, "authSource=admin"))
    with pytest.raises(StoreConnectionError) as info:
        check_store(settings, timeout_ms=2000)
    message = str(info.value)
    assert "authMechanism=SCRAM-SHA-256" in message and "are accepted" in message
    assert "rejects the user name or password" not in message and MONGO_PASSWORD not in message
    # and the documented URI works
    documented = _uri(mongo_server, MONGO_PASSWORD, "authSource=admin&authMechanism=SCRAM-SHA-256")
    assert "database 'auth'" in check_store(get_settings(store_uri=documented), timeout_ms=2000)


@pytest.mark.parametrize("options", ["authSource=admin", "authSource=admin&authMechanism=SCRAM-SHA-256"])
def test_wrong_password_is_named_as_such(mongo_server, no_config, options):
    settings = get_settings(store_uri=_uri(mongo_server, "not-the-pw-91", options))
    with pytest.raises(StoreConnectionError, match="rejects the user name or password") as info:
        check_store(settings, timeout_ms=2000)
    assert "not-the-pw-91" not in str(info.value) and "put authMechanism" not in str(info.value)
