"""The one store factory: a jobflow JobStore from settings.

* default: an embedded on-disk store (maggma MontyStore on SQLite via montydb) in ``settings.store_path``,
  which survives the process, so a second screen reuses stored relaxations;
* ``settings.store_uri`` set: MongoDB (maggma MongoURIStore for documents, GridFS for large data).

atomate2's force-field jobs need an additional store named ``data`` (trajectories, big arrays).
"""

from __future__ import annotations

from pathlib import Path

from jobflow import JobStore

from interchem.errors import InterchemError
from interchem.settings import Settings, get_settings

DOCS_COLLECTION = "jobs"
DATA_COLLECTION = "data"


def make_job_store(settings: Settings | None = None) -> JobStore:
    settings = settings or get_settings()
    if settings.store_uri is not None:
        return _mongo_store(settings)
    return embedded_store(settings.store_path)


def embedded_store(path: str | Path) -> JobStore:
    from maggma.stores import MontyStore

    # Absolute: jobflow's run_locally changes into each job's folder, and a relative path would
    # then open a different (empty) database in every job.
    path = Path(path).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise InterchemError(f"store path {str(path)!r} exists and is not a folder")

    def monty(collection: str) -> MontyStore:
        # MontyStore creates the folder on connect; nothing is written until a job finishes.
        return MontyStore(collection, database_path=str(path), database_name="interchem", storage="sqlite")

    return JobStore(monty(DOCS_COLLECTION), additional_stores={DATA_COLLECTION: monty(DATA_COLLECTION)})


def _mongo_store(settings: Settings) -> JobStore:
    from maggma.stores import MongoURIStore
    from maggma.stores.gridfs import GridFSURIStore

    uri = settings.store_uri.get_secret_value()
    database = _database_from_uri(uri)
    docs = MongoURIStore(uri, DOCS_COLLECTION, database=database)
    data = GridFSURIStore(uri, DATA_COLLECTION, database=database)
    return JobStore(docs, additional_stores={DATA_COLLECTION: data})


def _database_from_uri(uri: str) -> str:
    from pymongo.uri_parser import parse_uri

    try:
        return parse_uri(uri).get("database") or "interchem"
    except Exception as exc:  # never echo the URI: it may carry a password
        raise InterchemError(f"store URI is malformed ({type(exc).__name__}); expected mongodb://host:port/db") from None


def describe(store: JobStore) -> str:
    """A printable description of a store that never reveals credentials."""
    docs = store.docs_store
    if hasattr(docs, "database_path"):
        return f"embedded store at {docs.database_path}"
    return f"MongoDB store (database {getattr(docs, 'database', '?')!r})"
