"""The one store factory: a jobflow JobStore from settings.

* default: an embedded on-disk store (maggma MontyStore on SQLite via montydb) in ``settings.store_path``,
  which survives the process, so a second screen reuses stored relaxations;
* ``settings.store_uri`` set: MongoDB (``SettingsMongoStore`` for documents, ``SettingsGridFSStore``
  for large data). Both read the URI from the settings (``INTERCHEM_STORE_URI`` or the YAML config)
  when they connect and never hold it in an attribute that is serialised, logged or printed: the
  JobStore written into a jobflow-remote project file carries no credentials.

atomate2's force-field jobs need an additional store named ``data`` (trajectories, big arrays).

Large data always goes to the ``data`` store, whatever the job declared: the document stores move
(1) any value under a key in ``DATA_KEYS`` or an object whose class is in ``DATA_CLASSES`` and (2) any
document still larger than ``OFFLOAD_BYTES`` after that (largest values first) into the data store,
leaving jobflow's own blob reference (``{"blob_uuid": ..., "store": "data"}``) in place, so
``JobStore.get_output(..., load=True)`` reads them back transparently. This works for local runs and
for jobflow-remote's runner, which copies worker results store by store into the document store.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jobflow import JobStore
from maggma.stores import MemoryStore, MongoStore, MontyStore
from maggma.stores.gridfs import GridFSStore

from interchem.errors import (
    InterchemError,
    StoreConfigError,
    StoreConnectionError,
    StoreCorruptError,
    StoreMissingError,
)
from interchem.settings import Settings, get_settings

logger = logging.getLogger(__name__)

DOCS_COLLECTION = "jobs"
DATA_COLLECTION = "data"
CLAIMS_COLLECTION = "claims"  # MongoDB: one document per cache key being computed (workflows/claims.py)
DEFAULT_DATABASE = "interchem"

# Values that can grow past MongoDB's 16 MB document limit: always kept in the data store.
DATA_KEYS = ("trajectory", "trajectories", "images", "force_constants", "phonon_bandstructure", "phonon_dos", "frames")
DATA_CLASSES = ("Trajectory", "PhononBSDOSDoc", "ForceConstants", "NebResult")
# Anything still above this after the rules above is offloaded too (largest values first).
OFFLOAD_BYTES = 4 * 1024 * 1024


# --------------------------------------------------------------------------------------------------
# Offloading large values into the data store


def _bson_size(obj: Any) -> int:
    import bson

    try:
        return len(bson.encode(obj if isinstance(obj, dict) else {"v": obj}))
    except Exception:  # not BSON-encodable yet (e.g. numpy); estimate from JSON
        import json

        return len(json.dumps(obj, default=str))


def _blob_ref(value: Any) -> dict[str, str]:
    from jobflow.utils.uid import suid

    cls = value.get("@class", "") if isinstance(value, dict) else ""
    mod = value.get("@module", "") if isinstance(value, dict) else ""
    return {"@class": cls, "@module": mod, "blob_uuid": suid(), "store": DATA_COLLECTION}


def _is_blob_ref(value: Any) -> bool:
    return isinstance(value, dict) and "blob_uuid" in value and "store" in value


def _candidates(obj: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, value) of every dict/list value below ``obj`` (depth first)."""
    out = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list)) and not _is_blob_ref(v):
            out.append(((*path, k), v))
            out.extend(_candidates(v, (*path, k)))
    return out


def _set(doc: Any, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        doc = doc[k]
    doc[path[-1]] = value


def offload_large(doc: dict, limit: int = OFFLOAD_BYTES) -> tuple[dict, list[dict]]:
    """Split ``doc`` into a small document and blobs for the data store (see module docstring).

    Only values under ``output`` move (the keys jobflow queries, uuid/index/name/metadata, stay).
    Returns the (modified in place) document and the blob documents to write.
    """
    blobs: list[dict] = []
    output = doc.get("output")
    if not isinstance(output, (dict, list)):
        return doc, blobs

    def move(path: tuple, value: Any) -> None:
        ref = _blob_ref(value)
        blobs.append(
            {
                **{k: v for k, v in ref.items() if k != "store"},
                "data": value,
                "job_uuid": doc.get("uuid"),
                "job_index": doc.get("index"),
            }
        )
        _set(doc, ("output", *path), ref)

    # 1. by rule: keys and classes that can be large, outermost first
    taken: list[tuple] = []
    for path, value in _candidates(output):
        if any(path[: len(t)] == t for t in taken):
            continue
        key = path[-1]
        cls = value.get("@class") if isinstance(value, dict) else None
        if (isinstance(key, str) and key in DATA_KEYS) or cls in DATA_CLASSES:
            taken.append(path)
    for path in taken:
        value = output
        for k in path:
            value = value[k]
        move(path, value)
    # 2. by size: the largest values until the document is small enough
    while _bson_size(doc) > limit:
        sized = [(p, v) for p, v in _candidates(output) if _bson_size(v) > 1024]
        if not sized:
            break
        path, value = max(sized, key=lambda pv: (_bson_size(pv[1]), -len(pv[0])))
        # prefer the outermost value of roughly the same size (a whole trajectory, not one array of it)
        move(path, value)
    return doc, blobs


class _OffloadingDocsStore:
    """Mixin for document stores: large values go to the data store before writing (see module doc)."""

    def _data_store(self):  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def update(self, docs, key=None, **kwargs):
        docs = docs if isinstance(docs, list) else [docs]
        small, blobs = [], []
        for d in docs:
            d2, b = offload_large(d)
            small.append(d2)
            blobs.extend(b)
        if blobs:
            data = self._data_store()
            data.connect()
            try:
                data.update(blobs, key="blob_uuid")
            finally:
                if data is not getattr(self, "_shared_data", None):
                    data.close()
            logger.info("moved %d large value(s) to the data store", len(blobs))
        return super().update(small, key=key, **kwargs)


# --------------------------------------------------------------------------------------------------
# MongoDB stores that take their URI from the settings when they connect


def _settings_uri(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.store_uri is None or not settings.store_uri.get_secret_value():
        raise StoreConfigError(
            "no MongoDB URI: set INTERCHEM_STORE_URI (or store_uri in the config file) to use the MongoDB store"
        )
    return settings.store_uri.get_secret_value()


class _SettingsURIMixin:
    """Resolve the URI from interchem settings at connect time; never keep it on the object."""

    _secret_uri = None  # an explicit SecretStr (programmatic settings); not an __init__ argument

    def _connect_with_settings_uri(self, parent_connect, force_reset: bool) -> None:
        if getattr(self, "_coll", None) is not None and not force_reset:
            return
        uri = self._secret_uri.get_secret_value() if self._secret_uri is not None else _settings_uri()
        self.mongoclient_kwargs = {"serverSelectionTimeoutMS": 10000, **(self.mongoclient_kwargs or {})}
        self.uri = uri
        try:
            parent_connect(force_reset=force_reset)
        finally:
            self.uri = None  # as_dict(), name and reprs never see it

    @property
    def name(self) -> str:
        return f"mongodb://<from settings>/{self.database}/{self.collection_name}"


class SettingsMongoStore(_SettingsURIMixin, _OffloadingDocsStore, MongoStore):
    """A maggma MongoStore (so jobflow-remote accepts it as its queue store) whose URI comes from the
    interchem settings; as a JobStore docs store it offloads large values to ``data_collection``."""

    def __init__(
        self,
        collection_name: str,
        database: str = DEFAULT_DATABASE,
        data_collection: str = DATA_COLLECTION,
        mongoclient_kwargs: dict | None = None,
        **kwargs,
    ):
        self.data_collection = data_collection
        super().__init__(
            database=database, collection_name=collection_name, mongoclient_kwargs=mongoclient_kwargs, **kwargs
        )

    def connect(self, force_reset: bool = False):
        self._connect_with_settings_uri(super().connect, force_reset)

    def _data_store(self):
        store = SettingsGridFSStore(self.data_collection, database=self.database)
        store._secret_uri = self._secret_uri
        return store

    def __hash__(self) -> int:
        return hash((self.database, self.collection_name, self.last_updated_field))


class SettingsGridFSStore(_SettingsURIMixin, GridFSStore):
    """maggma's GridFSStore (no 16 MB limit per object) with the URI from the interchem settings."""

    def __init__(
        self, collection_name: str, database: str = DEFAULT_DATABASE, mongoclient_kwargs: dict | None = None, **kwargs
    ):
        super().__init__(
            database=database, collection_name=collection_name, mongoclient_kwargs=mongoclient_kwargs, **kwargs
        )

    def connect(self, force_reset: bool = False):
        self._connect_with_settings_uri(super().connect, force_reset)


class OffloadingMontyStore(_OffloadingDocsStore, MontyStore):
    """The embedded store's document collection, with the same large-data rule as MongoDB."""

    def _data_store(self):
        return MontyStore(
            DATA_COLLECTION, database_path=self.database_path, database_name=self.database_name, storage="sqlite"
        )


# --------------------------------------------------------------------------------------------------
# The factory


def make_job_store(settings: Settings | None = None, must_exist: bool = False) -> JobStore:
    settings = settings or get_settings()
    if settings.store_uri is not None and settings.store_uri.get_secret_value():
        return mongo_job_store(settings)
    return embedded_store(settings.store_path, must_exist=must_exist)


# --------------------------------------------------------------------------------------------------
# Integrity of the embedded store: montydb keeps each collection in one SQLite file (a table
# ``documents`` of key / BSON document). SQLite's own check finds truncated or garbled files; the repair
# copies every row that still reads and parses into a fresh file (by hand: montydb has no repair).


def _store_files(path: Path) -> list[Path]:
    return sorted(path.glob("*/*.collection")) if path.is_dir() else []


def _sqlite_problem(file: Path) -> str | None:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{file}?mode=ro", uri=True) as conn:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        return f"SQLite: {exc}"
    return None if rows == ["ok"] else f"SQLite integrity check: {rows[0]}"


def corrupt_store_files(path: str | Path) -> list[tuple[Path, str]]:
    """(file, reason) of every collection file of the embedded store at ``path`` that fails SQLite's check."""
    found = [(file, _sqlite_problem(file)) for file in _store_files(Path(path).expanduser().resolve())]
    return [(file, reason) for file, reason in found if reason]


def _readable_rows(file: Path) -> tuple[list[tuple[str, str]], int]:
    """Every (key, BSON document) row of a damaged collection file that still reads, and how many rowids failed.

    A truncated file keeps a header page count beyond its end, which makes SQLite refuse every read; a
    copy with the header's count set to the pages actually present reads all surviving pages. Rows are
    then read one rowid at a time so one lost page costs only its own rows."""
    import shutil
    import sqlite3
    import struct
    import tempfile

    import bson
    from bson.errors import BSONError

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / file.name
        shutil.copyfile(file, copy)
        with open(copy, "r+b") as fh:
            header = fh.read(100)
            if len(header) == 100 and header.startswith(b"SQLite format 3\x00"):
                page = struct.unpack(">H", header[16:18])[0]
                page = 65536 if page == 1 else page
                fh.seek(28)
                fh.write(struct.pack(">I", copy.stat().st_size // page))
                n_pages = copy.stat().st_size // page
            else:
                return [], 0
        kept, lost = [], 0
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            try:
                last = conn.execute("SELECT max(rowid) FROM documents").fetchone()[0] or 0
            except sqlite3.DatabaseError:
                last = n_pages * 256  # an upper bound on rows per page for montydb's small rows
            for rowid in range(1, last + 1):
                try:
                    row = conn.execute("SELECT k, v FROM documents WHERE rowid = ?", (rowid,)).fetchone()
                    if row is not None:
                        bson.decode(row[1])  # montydb keeps documents as BSON (use_bson in monty.storage.cfg)
                        kept.append(row)
                except (sqlite3.DatabaseError, BSONError, ValueError):
                    lost += 1
        finally:
            conn.close()
    return kept, lost


def repair_embedded_store(path: str | Path) -> list[dict[str, Any]]:
    """Repair the corrupt files of an embedded store: every row that still reads and decodes is
    copied into a fresh file, which takes the original's place; the damaged file is kept beside it as
    ``<name>.corrupt-<time>``. Returns, per repaired file, the rows kept and the rowids lost."""
    import sqlite3
    import time

    report = []
    for file, reason in corrupt_store_files(path):
        kept, lost = _readable_rows(file)
        aside = file.with_name(f"{file.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        file.rename(aside)
        with sqlite3.connect(file) as dst:
            dst.execute("CREATE TABLE [documents](k text NOT NULL, v text NOT NULL, PRIMARY KEY(k))")
            dst.executemany("INSERT OR REPLACE INTO documents (k, v) VALUES (?, ?)", kept)
        report.append({"file": str(file), "reason": reason, "kept": len(kept), "lost": lost, "moved_to": str(aside)})
    return report


# --------------------------------------------------------------------------------------------------
# Job documents an interrupted run leaves behind. jobflow stores a job's document when its function
# returns; a job that replaces itself (the screen's "relax or reuse X") is stored with ``output: None``
# and its replacement is stored later under the same uuid with a higher index. A run killed (or failed)
# in between leaves the ``None`` document alone: it is never read (every run makes new uuids) and no
# stored result depends on it. A finished job that returned nothing has no later index either, which
# is why the rule looks only at documents whose uuid has no later index *and* whose output is None.


def incomplete_jobs(store: JobStore) -> list[dict[str, Any]]:
    """{uuid, index, name, completed_at} of every job document without output and without a later
    index of the same uuid: what an interrupted run leaves. ``store`` must be connected."""
    docs = store.docs_store
    found = []
    for doc in docs.query({"output": None}, properties=["uuid", "index", "name", "completed_at"]):
        if docs.query_one({"uuid": doc["uuid"], "index": {"$gt": doc["index"]}}, properties=["uuid"]) is None:
            found.append({k: doc.get(k) for k in ("uuid", "index", "name", "completed_at")})
    return sorted(found, key=lambda d: str(d.get("completed_at")))


def remove_incomplete_jobs(store: JobStore) -> list[dict[str, Any]]:
    """Delete the documents ``incomplete_jobs`` finds (nothing else); returns them."""
    found = incomplete_jobs(store)
    for doc in found:
        store.docs_store.remove_docs({"uuid": doc["uuid"], "index": doc["index"], "output": None})
    return found


def embedded_store(path: str | Path, must_exist: bool = False) -> JobStore:
    """The embedded store in folder ``path``. ``must_exist``: refuse a folder that is not there (read-only
    commands and a ``-s`` without ``--create``) instead of creating an empty store. An existing store is
    checked for corrupt files before it is used (``StoreCorruptError`` names the file and the remedy)."""
    # Absolute: jobflow's run_locally changes into each job's folder, and a relative path would
    # then open a different (empty) database in every job.
    path = Path(path).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise InterchemError(f"store path {str(path)!r} exists and is not a folder")
    if not path.exists() and must_exist:
        raise StoreMissingError(
            f"there is no store at {path}: check the store path (-s or INTERCHEM_STORE_PATH); "
            "a computing command such as `interchem screen` creates it (with --create where -s names it)"
        )
    corrupt = corrupt_store_files(path)
    if corrupt:
        name, reason = corrupt[0]
        raise StoreCorruptError(
            f"store file {name} is corrupt ({reason}). `interchem store repair -s {path}` keeps every readable "
            f"document and moves the damaged file aside; or restore {path} from a backup. Nothing was read from it."
        )

    # MontyStore creates the folder on connect; nothing is written until a job finishes.
    docs = OffloadingMontyStore(DOCS_COLLECTION, database_path=str(path), database_name="interchem", storage="sqlite")
    data = MontyStore(DATA_COLLECTION, database_path=str(path), database_name="interchem", storage="sqlite")
    return JobStore(docs, additional_stores={DATA_COLLECTION: data})


def database_from_uri(uri: str) -> str:
    from pymongo.uri_parser import parse_uri

    try:
        return parse_uri(uri, warn=True).get("database") or DEFAULT_DATABASE
    except Exception as exc:  # never echo the URI: it may carry a password
        raise StoreConfigError(
            f"store URI is malformed ({type(exc).__name__}); expected mongodb://[user:password@]host:port/database"
        ) from None


def mongo_job_store(settings: Settings, explicit_uri: bool = True) -> JobStore:
    """JobStore on MongoDB. ``explicit_uri``: the stores keep the settings' SecretStr for this process
    (programmatic settings); the serialised form (``as_dict``) never contains it either way."""
    uri = _settings_uri(settings)
    database = database_from_uri(uri)
    docs = SettingsMongoStore(DOCS_COLLECTION, database=database)
    data = SettingsGridFSStore(DATA_COLLECTION, database=database)
    if explicit_uri:
        docs._secret_uri = data._secret_uri = settings.store_uri
    return JobStore(docs, additional_stores={DATA_COLLECTION: data})


_SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-1")


def _auth_failure(uri: str, database: str, timeout_ms: int) -> str:
    """Why authentication failed, without the password: the mechanism or the credentials.

    Servers answer both a wrong password and an unsupported mechanism with the same "Authentication
    failed" (e.g. mongoeco, which speaks SCRAM-SHA-256 only, when the driver negotiates SCRAM-SHA-1). So
    the same credentials are tried once with each SCRAM mechanism named explicitly: one that works means
    the URI needs ``authMechanism=``; none working means the user name or password is wrong."""
    import pymongo
    from pymongo.errors import PyMongoError
    from pymongo.uri_parser import parse_uri

    given = (parse_uri(uri).get("options") or {}).get("authmechanism")
    for mechanism in _SCRAM_MECHANISMS:
        if mechanism == given:
            continue
        client = pymongo.MongoClient(
            uri, authMechanism=mechanism, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
        )
        try:
            client[database].command("ping")
        except PyMongoError:
            continue
        finally:
            client.close()
        return (
            f"authentication failed with {'authMechanism=' + given if given else 'the default mechanism negotiation'}"
            f", but the user name and password are accepted with {mechanism}: put authMechanism={mechanism} in "
            f"the store URI (...?authSource=admin&authMechanism={mechanism})"
        )
    tried = ", ".join(dict.fromkeys([given or "default negotiation", *_SCRAM_MECHANISMS]))
    return f"authentication failed: the server rejects the user name or password (tried {tried})"


def check_store(settings: Settings | None = None, timeout_ms: int = 3000) -> str:
    """Connect and authenticate to the configured store within ``timeout_ms``; return its description.

    Raises StoreConnectionError (unreachable, wrong credentials) naming host and database, never the
    password. The embedded store only checks that its folder is usable.
    """
    settings = settings or get_settings()
    if settings.store_uri is None or not settings.store_uri.get_secret_value():
        path = Path(settings.store_path).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise StoreConfigError(f"store path {str(path)!r} exists and is not a folder")
        return f"embedded store at {path}"
    import pymongo
    from pymongo.errors import OperationFailure, PyMongoError
    from pymongo.uri_parser import parse_uri

    uri = _settings_uri(settings)
    database = database_from_uri(uri)
    hosts = ",".join(f"{h}:{p}" for h, p in parse_uri(uri)["nodelist"])
    where = f"MongoDB at {hosts}, database {database!r}"
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client[database].command("ping")
        client[database][DOCS_COLLECTION].find_one({}, projection={"_id": 1})
    except OperationFailure as exc:
        text = str(exc)
        if exc.code in (18, 13) or "auth" in text.lower():
            raise StoreConnectionError(f"{where}: {_auth_failure(uri, database, timeout_ms)}") from None
        raise StoreConnectionError(f"{where}: the server refused the request ({exc.code})") from None
    except PyMongoError as exc:
        raise StoreConnectionError(f"{where} is unreachable ({type(exc).__name__}) within {timeout_ms} ms") from None
    finally:
        client.close()
    return where


def claims_file(store: Any) -> Path | None:
    """The file whose byte-range locks claim cache keys of the embedded store at ``store`` (a JobStore or
    its docs store); None for MongoDB (``claims_collection``: runs on other hosts share no local file)."""
    docs = getattr(store, "docs_store", store)
    base = getattr(docs, "database_path", None)
    if not base:
        return None
    Path(base).mkdir(parents=True, exist_ok=True)
    return Path(base) / "claims.lock"


def claims_collection(store: Any) -> Any | None:
    """The pymongo collection of claims in the database of the MongoDB store ``store`` (a JobStore or its
    docs store, connected here if it is not), on the store's own client; None for other stores. Only
    ``workflows/claims.py`` writes it; ``results`` and the store checks read ``jobs`` and ``data`` only."""
    docs = getattr(store, "docs_store", store)
    if not isinstance(docs, MongoStore) or isinstance(docs, MemoryStore):  # MontyStore is a MemoryStore
        return None
    docs.connect()  # no-op when connected (a running job's store is)
    return docs._collection.database[CLAIMS_COLLECTION]


def describe(store: JobStore) -> str:
    """A printable description of a store that never reveals credentials."""
    docs = store.docs_store
    if hasattr(docs, "database_path"):
        return f"embedded store at {docs.database_path}"
    return f"MongoDB store (database {getattr(docs, 'database', '?')!r})"
