"""`manage.py loadtest` end to end, briefly: gunicorn with production settings, a Celery worker and
beat, load from another process, and the check that the activity it generated was all recorded."""

import json
import os
import subprocess
import sys

from django.conf import settings
from django.db import connection


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
