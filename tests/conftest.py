"""Test fixtures: two orgs (acme, globex) created once per session; tests isolated by transactions.

Baseline people, committed once and present in every test:
  acme:   admin@acme.test (admin), member@acme.test (member), viewer@acme.test (viewer)
  globex: admin@globex.test (admin)
  support@orgdash.test: support staff (is_staff), member of no org
All share the password ``PASSWORD``.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_redis import get_redis_connection
from django_tenants.utils import schema_context, tenant_context

from accounts.models import Role
from accounts.services import membership_add, user_get_or_create
from orgdash.core.models import Organization
from orgdash.core.services import organization_create, public_tenant_ensure

PASSWORD = "correct-horse-battery"
BASELINE = {
    "acme": [("admin@acme.test", Role.ADMIN), ("member@acme.test", Role.MEMBER), ("viewer@acme.test", Role.VIEWER)],
    "globex": [("admin@globex.test", Role.ADMIN)],
}


def create_baseline() -> None:
    public_tenant_ensure()
    for slug, people in BASELINE.items():
        org = organization_create(slug=slug, name=slug.capitalize())
        for email, role in people:
            user, _ = user_get_or_create(email=email, password=PASSWORD, name=email.split("@")[0].title())
            with tenant_context(org):
                membership_add(user=user, role=role)
    staff, _ = user_get_or_create(email="support@orgdash.test", password=PASSWORD, name="Support Engineer")
    if not staff.is_staff:
        staff.is_staff = True
        staff.is_superuser = True
        staff.save(update_fields=["is_staff", "is_superuser"])


def pytest_terminal_summary(terminalreporter, config):
    """The shuffled order's seed, last, where it is seen after a failure (``-q`` hides the header)."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"Tests ran in a shuffled order; replay it with --randomly-seed={seed}")


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """Creates the test database (always: browser tests use it without a ``db`` mark) and the
    baseline orgs and people, committed once for the whole session."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        db_config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        assert connection.settings_dict["NAME"].startswith("test_"), "refusing to seed a non-test database"
        create_baseline()
    yield
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        # The live server's request threads may still be disconnecting; the database cannot be
        # dropped while they are. (A fresh connection: the session's own may have been cut.)
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(db_config, verbosity=0)


@pytest.fixture(autouse=True)
def _public_schema_between_tests():
    yield
    connection.set_schema_to_public()


def forget_cache_keys(fragment: str) -> int:
    """Deletes every cache key containing ``fragment``, whatever the org.

    ``cache.delete_pattern`` cannot do this: the tenant-aware key function prefixes the pattern
    with the current schema, so from the public schema it never matches an org's keys.
    """
    redis = get_redis_connection("default")
    keys = list(redis.scan_iter(match=f"*{fragment}*"))
    return redis.delete(*keys) if keys else 0


@pytest.fixture(autouse=True)
def _throttle_counters_start_over():
    """Failure counters live in Redis under each org's key prefix and outlive a test's rollback:
    one test's failed API-key attempts must not count against a later test's."""
    forget_cache_keys("api-key-failures")
    yield
    forget_cache_keys("api-key-failures")


@pytest.fixture(autouse=True)
def _activity_recorder_starts_over():
    """Tests roll their rows back, so the activity recorder's de-duplication (Redis keys, process
    memory) starts over too: otherwise a member's first request in one test would not be recorded
    because an earlier, rolled-back test already claimed it."""
    from activity.recording import recorder

    recorder.forget(redis_keys=True)
    yield


@pytest.fixture
def acme(db):
    with schema_context("public"):
        return Organization.objects.get(slug="acme")


@pytest.fixture
def globex(db):
    with schema_context("public"):
        return Organization.objects.get(slug="globex")


@pytest.fixture
def in_acme(acme):
    """Runs the test body inside acme's schema."""
    connection.set_tenant(acme)
    yield acme
    connection.set_schema_to_public()


@pytest.fixture
def in_globex(globex):
    connection.set_tenant(globex)
    yield globex
    connection.set_schema_to_public()


def host_of(slug: str) -> str:
    from django.conf import settings

    return f"{slug}.{settings.ORGDASH_BASE_DOMAIN}"


@pytest.fixture
def acme_client(acme):
    return Client(HTTP_HOST=host_of("acme"))


@pytest.fixture
def globex_client(globex):
    return Client(HTTP_HOST=host_of("globex"))


@pytest.fixture
def public_client(db):
    from django.conf import settings

    return Client(HTTP_HOST=settings.ORGDASH_BASE_DOMAIN)


def login(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"email": email, "password": password})


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Writes that other processes (a live server, a Celery worker, an app server) can see:
    committed, not rolled back, so each test removes what it made."""
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


def django_process_env(extra_env: dict) -> dict:
    """The environment of a Django process the tests start: test settings, the test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": connection.settings_dict["NAME"],
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }


def _stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def celery_worker(name: str, **extra_env):
    """A real Celery worker process on the test database and the test Redis, until the block ends."""
    from orgdash.celery import app as celery_app

    env = django_process_env(extra_env)
    celery_app.control.purge()
    log_path = settings.BASE_DIR / "test-artifacts" / f"celery-{name}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "orgdash", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--hostname", f"{name}-{uuid.uuid4().hex[:8]}@%h"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not celery_app.control.ping(timeout=0.5):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Celery worker did not start; see {log_path}")
            yield process
        finally:
            _stop_process(process)


@contextlib.contextmanager
def celery_beat(name: str, schedule_dir, **extra_env):
    """A real Celery beat process (its schedule file in ``schedule_dir``) sending to the test Redis,
    until the block ends. Pair it with ``celery_worker`` to run what it sends."""
    log_path = settings.BASE_DIR / "test-artifacts" / f"celery-beat-{name}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "orgdash", "beat", "--loglevel=INFO",
             "--schedule", str(schedule_dir / "celerybeat-schedule")],
            cwd=settings.BASE_DIR, env=django_process_env(extra_env), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield process
        finally:
            _stop_process(process)
