"""Dedicated mode: the one org is served at the base domain itself (run in its own database)."""

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connection

PROBE = """
from django.test import Client
client = Client(HTTP_HOST="{host}")
print("login", client.get("/accounts/login/").status_code, b"Log in to Solo" in client.get("/accounts/login/").content)
print("other", Client(HTTP_HOST="other.{host}").get("/accounts/login/").status_code)
client.post("/accounts/login/", {{"email": "boss@solo.test", "password": "a-long-password-1"}})
print("dashboard", client.get("/org/dashboard/").status_code)
"""


@pytest.fixture
def dedicated_database(django_db_setup, django_db_blocker):
    name = f"test_dedicated_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        params = connection.get_connection_params()
    admin = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(database, *args):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": database,
        "ORGDASH_MODE": "dedicated",
        "ORGDASH_BASE_DOMAIN": "orgdash.internal",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_dedicated_instance_serves_its_one_org_at_the_base_domain(dedicated_database):
    _manage(dedicated_database, "migrate_schemas", "--shared", "--verbosity", "0")
    _manage(dedicated_database, "setup_instance")
    printed = _manage(
        dedicated_database,
        "create_org",
        "solo",
        "--name",
        "Solo",
        "--admin-email",
        "boss@solo.test",
        "--admin-password",
        "a-long-password-1",
    )
    assert "http://orgdash.internal:8000/" in printed
    probe = _manage(dedicated_database, "shell", "-c", PROBE.format(host="orgdash.internal"))
    assert "login 200 True" in probe
    assert "other 404" in probe
    assert "dashboard 200" in probe


def test_dedicated_instance_refuses_a_second_org(dedicated_database):
    _manage(dedicated_database, "migrate_schemas", "--shared", "--verbosity", "0")
    _manage(dedicated_database, "create_org", "solo", "--name", "Solo")
    env_result = subprocess.run(
        [sys.executable, "manage.py", "create_org", "second", "--name", "Second"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
            "DJANGO_DATABASE_NAME": dedicated_database,
            "ORGDASH_MODE": "dedicated",
        },
        capture_output=True,
        text=True,
    )
    assert env_result.returncode != 0
    assert "exactly one organization" in env_result.stderr
