"""Start a MongoDB wire-protocol server (mongoeco, SQLite engine) for tests and benchmarks.

Runs under Python >= 3.13 in its own small venv (see scripts/setup.sh: .services/mongoeco-venv):

    .services/mongoeco-venv/bin/python scripts/mongoeco_server.py --port 27017 --db /tmp/m.sqlite \
        [--user NAME --password-env VAR]

Prints ``READY <port>`` on stdout once it listens; stops on SIGTERM/SIGINT. With --user, every client
must authenticate (SCRAM) as that user; the password is read from the environment variable named by
--password-env so it never appears in a process listing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys


async def main() -> None:
    from mongoeco.engines import MemoryEngine, SQLiteEngine
    from mongoeco.wire import AsyncMongoEcoProxyServer, WireAuthUser

    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--db", default=":memory:", help="SQLite file (':memory:' for an in-memory engine)")
    p.add_argument("--user")
    p.add_argument("--password-env", default="MONGOECO_PASSWORD")
    args = p.parse_args()
    engine = MemoryEngine() if args.db == ":memory:" else SQLiteEngine(path=args.db)
    users = ()
    if args.user:
        password = os.environ.get(args.password_env)
        if not password:
            sys.exit(f"mongoeco_server: --user given but ${args.password_env} is empty")
        users = (WireAuthUser(username=args.user, password=password, roles=({"role": "root", "db": "admin"},)),)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncMongoEcoProxyServer(engine=engine, host=args.host, port=args.port, auth_users=users) as server:
        port = server.address.port if hasattr(server, "address") else args.port
        print(f"READY {port}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
