"""One computation per cache key across processes: the claims behind ``common.claim_or_reuse``.

Two runs on one store used to relax the same phase twice and store two records with the same key. A run
that misses the store claims the key; another run that misses too waits until the key is stored (and
reuses it) or the claim is given up or abandoned (its holder failed or was killed: then it claims and
computes itself). The claim is held across the jobs of the computation (the "or reuse" job, the
calculation, the record) and given up by the runner once the record is stored (``common.release_claims``),
or at once when a job fails. Both kinds of store are claimed, by one mechanism with two backends:

* embedded store (``FileClaims``): a POSIX byte-range lock (``fcntl.lockf``) on ``claims.lock`` next to
  the store, at an offset from the key. The kernel drops it when the process dies, so a killed run never
  blocks the next.
* MongoDB store (``MongoClaims``): runs on several hosts share no file, so the claim is a document in the
  ``claims`` collection of the store's database, ``_id`` = the key (inserting it is atomic: a duplicate-key
  error means another run holds it), with its holder (host, pid, a random run id; never the URI) and a
  heartbeat time that a daemon thread of the holder refreshes every ``HEARTBEAT_S`` while it holds
  claims. Nobody drops the document of a killed holder, so a claim without a heartbeat for
  ``CLAIM_STALE_S`` is taken over by a waiting run (one atomic ``find_one_and_update`` whose filter holds
  the stale heartbeat: of two waiters, one wins). A process that exits gives its claims up (``atexit``),
  as the kernel does for the locks. Heartbeats are the holders' clocks, compared with the waiter's: the
  hosts sharing a store must agree on the time to well within ``CLAIM_STALE_S`` (NTP does, to ms).

Who gives claims up: the local runner (``runner.LocalRun``: after each job whose result is now stored,
all of them after a failed job and at the end of a run); an "or reuse" job whose own computation fails
(``common.giving_up_on_failure``: FireWorks jobs have no runner, and ``rlaunch rapidfire`` lives on);
the end of the process. jobflow-remote workers see only their job's own small store, not the results
store: they neither reuse nor claim at run time (their flows were resolved at submission).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

HEARTBEAT_S = 10.0  # how often a holder refreshes the heartbeat of its MongoDB claims
# Six missed heartbeats: a busy machine, a long garbage collection or a slow server delay one or two, never
# six; a waiting run loses at most a minute when the holder was killed.
CLAIM_STALE_S = 60.0


class FileClaims:
    """Claims of an embedded store: byte-range locks on one file (module docstring)."""

    def __init__(self, path: Path):
        self.path = path

    def acquire(self, key: str) -> bool:
        import fcntl

        fd = _FILES.get(self.path)
        if fd is None:  # one descriptor per file: closing any would drop all of this process's locks on it
            fd = _FILES[self.path] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, claim_offset(key), os.SEEK_SET)
            return True
        except OSError:  # held by another process
            self.close_unused()
            return False

    def release(self, key: str) -> None:
        import fcntl

        fcntl.lockf(_FILES[self.path], fcntl.LOCK_UN, 1, claim_offset(key), os.SEEK_SET)

    def holder(self, key: str) -> str:
        return "another process on this machine"

    def close_unused(self) -> None:
        """Close the descriptor when this process holds no claim on the file (closing it drops them all)."""
        if self.path in _FILES and not any(getattr(b, "path", None) == self.path for b, _ in _HELD.values()):
            os.close(_FILES.pop(self.path))


class MongoClaims:
    """Claims of a MongoDB store: one document per key in its database's ``claims`` collection."""

    def __init__(self, collection: Any):
        self.collection = collection

    def acquire(self, key: str) -> bool:
        from pymongo.errors import DuplicateKeyError

        now = _now()
        mine = {**holder_fields(), "since": now, "heartbeat": now}
        try:
            self.collection.insert_one({"_id": key, **mine})
            return True
        except DuplicateKeyError:
            pass
        stale = now - dt.timedelta(seconds=CLAIM_STALE_S)
        gone = self.collection.find_one_and_update({"_id": key, "heartbeat": {"$lt": stale}}, {"$set": mine})
        if gone is None:
            return False
        logger.warning(
            "Took over the claim of %s from %s (no heartbeat for over %.0f s: that run ended or was killed)",
            key[:12],
            _who(gone),
            CLAIM_STALE_S,
        )
        return True

    def release(self, key: str) -> None:
        self.collection.delete_one({"_id": key, "run": holder_fields()["run"]})

    def holder(self, key: str) -> str:
        doc = self.collection.find_one({"_id": key})
        return _who(doc) if doc else "another run"

    def refresh(self, keys: list[str]) -> None:
        """Refresh the heartbeat of this process's claims of ``keys``."""
        from pymongo.errors import PyMongoError

        try:
            found = self.collection.update_many(
                {"_id": {"$in": keys}, "run": holder_fields()["run"]}, {"$set": {"heartbeat": _now()}}
            ).matched_count
        except PyMongoError as exc:  # the next beat tries again; CLAIM_STALE_S leaves room for five failures
            logger.warning("Could not refresh the heartbeat of %d claim(s): %s", len(keys), type(exc).__name__)
            return
        if found < len(keys):
            logger.warning(
                "%d claim(s) of this run were taken over by another run (no heartbeat for %.0f s): both compute",
                len(keys) - found,
                CLAIM_STALE_S,
            )


def claims_backend(store: Any) -> FileClaims | MongoClaims | None:
    """How cache keys of ``store`` are claimed; None for a store no other process can see (in memory)."""
    from interchem.store import claims_collection, claims_file

    path = claims_file(store)
    if path is not None:
        return FileClaims(path)
    collection = claims_collection(store)
    return MongoClaims(collection) if collection is not None else None


def claim_offset(key: str) -> int:
    """Where in the claims file the lock of ``key`` sits (60 bits of the key: two keys meet with negligible odds)."""
    return int(key[:15], 16)


# --------------------------------------------------------------------------------------------------
# This process's claims

_HELD: dict[str, tuple[FileClaims | MongoClaims, str]] = {}  # key -> (backend, stored field)
_FILES: dict[Path, int] = {}  # claims file -> its one descriptor in this process
_LOCK = threading.Lock()  # _HELD is read by the heartbeat thread
_WAKE = threading.Event()
_STATE: dict[str, Any] = {}  # pid, run id, heartbeat thread of this process


def holder_fields() -> dict[str, Any]:
    """Who holds this process's MongoDB claims: host, pid and a random id of this process."""
    if _STATE.get("pid") != os.getpid():  # a forked child is another holder
        _STATE.clear()
        _STATE.update(pid=os.getpid(), run=uuid.uuid4().hex, host=socket.gethostname())
    return {"host": _STATE["host"], "pid": _STATE["pid"], "run": _STATE["run"]}


def is_held(key: str) -> bool:
    return key in _HELD


def held() -> dict[str, str]:
    """The keys this process holds, with the output field their results are stored under."""
    with _LOCK:
        return {key: field for key, (_, field) in _HELD.items()}


def claim(backend: FileClaims | MongoClaims, key: str, field: str) -> bool:
    """Claim ``key``; False when another run holds it."""
    if not backend.acquire(key):
        return False
    with _LOCK:
        _HELD[key] = (backend, field)
    if isinstance(backend, MongoClaims):
        _start_heartbeat()
    return True


def release(key: str) -> None:
    """Give up the claim of ``key`` (held by this process)."""
    with _LOCK:
        backend, _ = _HELD.pop(key)
    backend.release(key)
    if isinstance(backend, FileClaims):
        backend.close_unused()


def beat() -> None:
    """Refresh the heartbeat of every MongoDB claim this process holds (the heartbeat thread's work)."""
    with _LOCK:
        by_backend: dict[int, tuple[MongoClaims, list[str]]] = {}
        for key, (backend, _) in _HELD.items():
            if isinstance(backend, MongoClaims):
                by_backend.setdefault(id(backend), (backend, []))[1].append(key)
    for backend, keys in by_backend.values():
        backend.refresh(keys)


def _start_heartbeat() -> None:
    holder_fields()  # this process's state (a forked child starts its own thread)
    if "thread" not in _STATE:
        _STATE["thread"] = threading.Thread(target=_heartbeat, name="interchem-claims-heartbeat", daemon=True)
        _STATE["thread"].start()
    _WAKE.set()  # beat now, and from now on every HEARTBEAT_S (as it is then)


def _heartbeat() -> None:
    while True:
        _WAKE.wait(HEARTBEAT_S)
        _WAKE.clear()
        beat()


def _forget_in_child() -> None:
    """A forked child holds none of its parent's claims (its locks are not inherited, the documents are
    the parent's); it drops its copies of the descriptors (which leaves the parent's locks alone)."""
    global _LOCK
    _LOCK = threading.Lock()  # the parent's heartbeat thread may have held it at the fork
    _HELD.clear()
    for fd in _FILES.values():
        os.close(fd)
    _FILES.clear()
    _STATE.clear()


def _release_at_exit() -> None:
    """A process that ends gives its MongoDB claims up (else they would block waiters for ``CLAIM_STALE_S``)."""
    from pymongo.errors import PyMongoError

    for key in held():
        try:
            release(key)
        except (PyMongoError, OSError):  # the server is gone or the client closed: the claim goes stale instead
            pass


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(_release_at_exit)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _who(doc: dict) -> str:
    return f"{doc.get('host', '?')} pid {doc.get('pid', '?')}"
