"""`make run` (tooling.devrun) comes back by itself when its embedded Redis dies: the supervisor
starts Redis again on the port the web server, worker and beat already use, and they reconnect.
A worker that dies is started again too."""

import os
import re
import signal
import subprocess
import sys
import uuid
from urllib.parse import quote

import psutil
import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import AuditEvent, Membership
from accounts.services import api_key_create, membership_add, user_get_or_create
from activity.models import ActivityDay
from tests.conftest import PASSWORD
from tests.security.conftest import free_port, wait_until

# The worker's log line for a refresh that beat queued and the worker ran.
REFRESH_DONE = re.compile(r"activity\.tasks\.refresh_all_organizations\[[0-9a-f-]+\] succeeded")


def _database_url() -> str:
    """The test database as a DATABASE_URL (a Unix socket for the embedded server)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = db["HOST"] or db.get("OPTIONS", {}).get("host", "")
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{db['NAME']}?host={quote(host)}"
    return f"postgresql://{user}{password}@{host or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def members_with_keys(committed):
    """Two committed members of acme, each with a personal API key; removed afterwards."""
    made = []
    for _ in range(2):
        email = f"devrun-{uuid.uuid4().hex[:10]}@acme.test"
        user, _ = user_get_or_create(email=email, password=PASSWORD, name="Dev Run")
        with schema_context("acme"):
            membership = membership_add(user=user)
            _, secret = api_key_create(membership=membership, label="devrun")
        made.append((membership, user, secret))
    yield [(membership, secret) for membership, _, secret in made]
    with schema_context("acme"):
        for membership, user, _ in made:
            AuditEvent.objects.filter(target_repr=membership.email).delete()
            Membership.objects.filter(pk=membership.pk).delete()
            user.delete()


@pytest.fixture
def stack(django_db_setup, tmp_path):
    """`python -m tooling.devrun` with its own embedded Redis (in tmp_path) on the test database."""
    data_dir = tmp_path / "devdata"
    port = free_port()
    env = {
        **os.environ,
        "ORGDASH_DEVDATA": str(data_dir),
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "ORGDASH_TEST_REDIS_DB": "0",
        "ORGDASH_PORT": str(port),
        "ORGDASH_SERVICE_CHECK_SECONDS": "0.5",
        "ORGDASH_ACTIVITY_REFRESH_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "DJANGO_DATABASE_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    log_path = settings.BASE_DIR / "test-artifacts" / "devrun.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tooling.devrun"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = Stack(process, port, data_dir, log_path)
    try:
        wait_until(stack.healthy, timeout=90, interval=0.3, what=f"make run to answer; see {log_path}")
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(
            [sys.executable, "-m", "tooling.devservices", "stop"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            check=False,
        )


class Stack:
    def __init__(self, process, port, data_dir, log_path):
        self.process, self.port, self.log_path = process, port, log_path
        self.redis_dir = data_dir / "redis"

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"make run exited; see {self.log_path}")
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def child(self, name: str) -> psutil.Process:
        """The supervisor's direct child running ``celery <name>`` (worker or beat)."""
        for child in psutil.Process(self.process.pid).children():
            if name in child.cmdline():
                return child
        raise AssertionError(f"no {name} process under make run")

    def redis_pid(self) -> int:
        return int((self.redis_dir / "redis.pid").read_text())

    def redis(self) -> redis.Redis:
        return redis.Redis(port=int((self.redis_dir / "port").read_text()), socket_timeout=2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def report_run(self, secret: str) -> int:
        response = requests.post(
            f"http://127.0.0.1:{self.port}/api/v1/runs/",
            json={"project": "devrun", "name": "recovery"},
            headers={"Host": f"acme.{settings.ORGDASH_BASE_DOMAIN}", "Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        return response.status_code


def _recorded_today(membership) -> bool:
    with schema_context("acme"):
        return ActivityDay.objects.filter(membership_id=membership.pk, day=timezone.now().date()).exists()


def _activity_keys(client: redis.Redis, membership) -> list[bytes]:
    return list(client.scan_iter(match=f"act:acme:{membership.pk}:*"))


def test_make_run_comes_back_by_itself_after_its_redis_dies(stack, members_with_keys):
    (before, before_key), (after, after_key) = members_with_keys
    assert stack.report_run(before_key) == 201
    assert _activity_keys(stack.redis(), before)
    assert _recorded_today(before)
    port, pid = stack.redis().connection_pool.connection_kwargs["port"], stack.redis_pid()

    os.kill(pid, signal.SIGKILL)
    log_at_kill = len(stack.log())
    wait_until(lambda: "Redis running again" in stack.log()[log_at_kill:], timeout=30, what="the supervisor")
    assert stack.redis_pid() != pid, "a new redis-server was started"
    assert stack.redis().connection_pool.connection_kwargs["port"] == port, "on the port everyone already uses"
    wait_until(stack.healthy, timeout=30, interval=0.3, what="/healthz to answer 200 again")

    # The web server records activity through the new Redis, and beat's refresh reaches the worker again.
    assert stack.report_run(after_key) == 201
    assert _activity_keys(stack.redis(), after), "the web server's recorder uses the restarted Redis"
    assert _recorded_today(after)
    wait_until(
        lambda: REFRESH_DONE.search(stack.log()[log_at_kill:].split("Redis running again", 1)[1]),
        timeout=60,
        interval=0.5,
        what="beat's refresh to run in the worker after the restart",
    )

    # A worker that dies (as one that gave up on a broker gone too long does) is started again.
    log_at_worker_kill = len(stack.log())
    stack.child("worker").kill()
    wait_until(
        lambda: "worker exited with -9; starting it again" in stack.log()[log_at_worker_kill:],
        timeout=30,
        what="the supervisor to restart the worker",
    )
    wait_until(
        lambda: REFRESH_DONE.search(stack.log()[log_at_worker_kill:]),
        timeout=60,
        interval=0.5,
        what="beat's refresh to run in the restarted worker",
    )
    assert stack.process.poll() is None, "the rest of the stack kept running"

    # A clean shutdown: every process ends through its own shutdown path, without a traceback.
    log_at_stop = len(stack.log())
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(30) == 0
    shutdown = stack.log()[log_at_stop:]
    assert "Traceback" not in shutdown, shutdown
