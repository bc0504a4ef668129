"""Two Celery workers with their own names and queues share beat's per-org refreshes: each org is
refreshed exactly once, and a big org's refresh goes only to a worker of the big orgs' queue."""

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context

from activity.tasks import refresh_all_organizations
from orgdash.celery import app as celery_app
from orgdash.core.changes import CHANGED_KEY, organization_changed
from orgdash.core.models import OrganizationStats
from orgdash.core.services import organization_create
from tests.factories import make_member

SMALL_ORGS = 4


@contextlib.contextmanager
def _worker(name: str, queues: str):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": connection.settings_dict["NAME"],
        "PYTHONUNBUFFERED": "1",
    }
    log_path = settings.BASE_DIR / "test-artifacts" / f"celery-{name}.log"
    log_path.parent.mkdir(exist_ok=True)
    hostname = f"{name}-{uuid.uuid4().hex[:8]}@%h"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "orgdash", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "-Q", queues, "--hostname", hostname],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield process, log_path
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def scratch_orgs(committed):
    tag = uuid.uuid4().hex[:6]
    made = []
    for i in range(SMALL_ORGS + 1):
        organization = organization_create(slug=f"share-{tag}-{i}", name=f"Share {i}")
        with tenant_context(organization):
            made.append((organization, make_member()))
    yield [organization for organization, _ in made]
    connection.set_schema_to_public()
    for organization, member in made:
        get_redis_connection("default").zrem(CHANGED_KEY, organization.schema_name)
        with tenant_context(organization):
            member.delete()
            get_user_model().objects.filter(pk=member.user_id).delete()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{organization.schema_name}" CASCADE')
        organization.domains.all().delete()
        organization.delete()


def _refreshed(log_path) -> list[str]:
    """Schemas whose refresh succeeded in this worker, once per refresh."""
    return re.findall(r"refresh_organization_activity\[[^\]]+\] succeeded in [^:]+: '(\w+):", log_path.read_text())


def test_two_workers_share_the_refreshes_and_none_runs_twice(scratch_orgs):
    *small, big = scratch_orgs
    OrganizationStats.objects.filter(organization=big).update(members=10**9)
    ours = {organization.schema_name for organization in scratch_orgs}
    celery_app.control.purge()
    both_queues = f"celery,{settings.ORGDASH_LARGE_ORG_QUEUE}"
    with _worker("share-a", "celery") as (a, a_log), _worker("share-b", both_queues) as (b, b_log):
        deadline = time.monotonic() + 60
        while len(celery_app.control.ping(timeout=0.5)) < 2:
            assert time.monotonic() < deadline and a.poll() is None and b.poll() is None, "both workers start"
        for organization in scratch_orgs:
            organization_changed(schema=organization.schema_name)
        refresh_all_organizations()

        def done():
            return ours <= set(_refreshed(a_log)) | set(_refreshed(b_log))

        while not done():
            assert time.monotonic() < deadline, "every changed org was refreshed"
            time.sleep(0.2)
        time.sleep(1)  # a duplicate delivery would show up by now
        by_a, by_b = Counter(_refreshed(a_log)), Counter(_refreshed(b_log))
    assert all((by_a + by_b)[schema] == 1 for schema in ours), (by_a, by_b)
    assert by_b[big.schema_name] == 1 and by_a[big.schema_name] == 0, "the big org only on its own queue"
    assert all(OrganizationStats.objects.get(organization=o).refreshed_at is not None for o in small)
