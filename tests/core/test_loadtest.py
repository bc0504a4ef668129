"""`manage.py loadtest` end to end, briefly: gunicorn with production settings, a Celery worker and
beat, load from another process, and the check that the activity it generated was all recorded.
How fast it goes is for `make loadtest` to report, not for this test to judge."""

import datetime as dt
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from accounts.models import ApiKey, Membership, Role
from accounts.services import membership_add, user_get_or_create
from activity.models import ActivityDay, ActivityKind, Run
from orgdash.core.services import organization_create
from tests.conftest import PASSWORD
from tests.factories import make_member
from tooling.management.commands.loadtest import Command as LoadTest


@pytest.fixture
def load_org(committed):
    """An org of this test alone (the load writes committed activity, runs and figures), dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    organization = organization_create(slug=f"load-{tag}", name="Load Test")
    emails = [f"{role}-{tag}@load.test" for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER)]
    for email, role in zip(emails, (Role.ADMIN, Role.MEMBER, Role.VIEWER), strict=True):
        user, _ = user_get_or_create(email=email, password=PASSWORD, name="Load")
        with schema_context(organization.schema_name):
            membership_add(user=user, role=role)
    yield organization
    connection.set_schema_to_public()
    organization.delete(force_drop=True)
    get_user_model().objects.filter(email__in=emails)._raw_delete(connection.alias)


def test_a_short_load_test_records_every_bit_of_activity(load_org, tmp_path):
    report_path = tmp_path / "loadtest.json"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": connection.settings_dict["NAME"],
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "loadtest",
            "--org",
            load_org.slug,
            "--seconds",
            "4",
            "--concurrency",
            "2",
            "--json",
            str(report_path),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert report_path.exists(), result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["errors"] == 0, (report["statuses"], result.stderr[-3000:])
    assert report["runs_recorded"] == report["runs_expected"] > 0, report
    assert report["activity_lost"] == 0 and report["double_counted"] == 0, report
    assert report["latency_profile"] and report["web_rss_mb_samples"]
    # The stack it started shut down cleanly.
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


def test_the_many_orgs_mode_spreads_an_open_loop_load_and_loses_nothing_in_warm_up_or_run(committed, tmp_path):
    tag = uuid.uuid4().hex[:6]
    made = []
    for i in range(3):
        organization = organization_create(slug=f"loadmany-{tag}-{i}", name=f"Load {i}")
        with tenant_context(organization):
            admin = make_member(role=Role.ADMIN)
            member = make_member()
        made.append((organization, [admin, member]))
    report_path = tmp_path / "loadtest-orgs.json"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": connection.settings_dict["NAME"],
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "loadtest", "--orgs", "3", "--org-prefix", f"loadmany-{tag}-",
             "--warmup", "3", "--seconds", "8", "--rate", "8", "--json", str(report_path)],
            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert report_path.exists(), result.stdout + result.stderr
        report = json.loads(report_path.read_text())
        assert report["errors"] == 0, (report["statuses"], result.stderr[-3000:])
        assert report["orgs"] == 3 and report["orgs_with_load"] >= 2, report
        # Requests arrived on a schedule; the warm-up's are reported apart and its activity checked too.
        assert report["mode"] == "open" and report["offered_rps"] == 8, report
        assert report["warmup"]["requests"] > 0 and report["requests"] > 0, report
        assert report["runs_recorded"] == report["runs_expected"] > 0, report
        assert report["activity_lost"] == 0 and report["double_counted"] == 0, report
    finally:
        connection.set_schema_to_public()
        for organization, members in made:
            with tenant_context(organization):
                user_ids = [m.user_id for m in members]
                ApiKey.objects.all().delete()
                Membership.objects.all().delete()
                get_user_model().objects.filter(pk__in=user_ids).delete()
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA "{organization.schema_name}" CASCADE')
            organization.domains.all().delete()
            organization.delete()


def test_a_load_running_past_midnight_finds_the_activity_recorded_on_the_next_day(in_acme):
    first_day, last_day = dt.date(2026, 12, 31), dt.date(2027, 1, 1)
    member = make_member(days_active=1)
    moment = dt.datetime.combine(last_day, dt.time(0, 0, 2), dt.UTC)  # the load's call, just after midnight
    ActivityDay.objects.create(
        membership=member, day=last_day, kinds=ActivityKind.RUN_LOGGED, first_seen=moment, last_seen=moment
    )
    baseline = {"runs": Run.objects.count()}
    Run.objects.create(project="load", name="after midnight", created_by=member, created_at=moment)
    keys, successes = {"key": member.pk}, {"key": 1}

    check = LoadTest()._check_activity(keys, successes, baseline, (first_day, last_day))
    assert check["activity_lost"] == 0 and check["double_counted"] == 0, check
    # A member with no run on any of the load's days is still lost.
    check = LoadTest()._check_activity(keys, successes, baseline, (first_day, first_day))
    assert check["activity_lost"] == 1, check
