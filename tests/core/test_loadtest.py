"""`manage.py loadtest` end to end, briefly: gunicorn with production settings, a Celery worker and
beat, load from another process, and the check that the activity it generated was all recorded."""

import json
import os
import subprocess
import sys
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import ApiKey, Membership, Role
from orgdash.core.services import organization_create
from tests.factories import make_member


def test_a_short_load_test_records_every_bit_of_activity(django_db_setup, django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        database_name = connection.settings_dict["NAME"]
    report_path = tmp_path / "loadtest.json"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": database_name,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "loadtest",
            "--org",
            "acme",
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
    assert report["requests"] > 20, report
    assert report["errors"] == 0, (report["statuses"], result.stderr[-3000:])
    assert report["runs_recorded"] == report["runs_expected"] > 0, report
    assert report["activity_lost"] == 0 and report["double_counted"] == 0, report
    assert report["members_active_in_load"] == 2  # acme's member and viewer
    assert report["latency_profile"] and report["web_rss_mb_samples"]


def test_the_many_orgs_mode_spreads_the_load_and_loses_nothing(committed, tmp_path):
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
             "--seconds", "4", "--concurrency", "2", "--json", str(report_path)],
            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert report_path.exists(), result.stdout + result.stderr
        report = json.loads(report_path.read_text())
        assert report["errors"] == 0, (report["statuses"], result.stderr[-3000:])
        assert report["orgs"] == 3 and report["orgs_with_load"] >= 2, report
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
