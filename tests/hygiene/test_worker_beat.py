"""The daily job for real: Celery beat (a subprocess) fires the dispatcher, a real worker runs
each org's run in its schema, sends the warning e-mail, deactivates, and later runs the same day
do nothing more."""

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent, Membership, SystemActor
from hygiene import services
from hygiene.models import DormancyPolicy, DormancyWarning, PolicyRun
from orgdash.core.models import Organization
from tests.clock import clear_of_midnight
from tests.conftest import celery_worker
from tests.hygiene.conftest import days, make_person


@contextlib.contextmanager
def celery_beat(name: str, schedule_dir, **extra_env):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": connection.settings_dict["NAME"],
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    log_path = settings.BASE_DIR / "test-artifacts" / f"celery-beat-{name}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "orgdash", "beat", "--loglevel=INFO",
             "--schedule", str(schedule_dir / "celerybeat-schedule")],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(condition, what: str, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


@pytest.fixture
def dormant_people(committed):
    acme = Organization.objects.get(slug="acme")
    connection.set_tenant(acme)
    clear_of_midnight(seconds=120)  # the worker's runs, and the second one that does nothing, are on this day
    now = timezone.now()
    PolicyRun.objects.filter(day=now.date()).delete()
    services.dormancy_policy_update(enabled=True, after_days=90, warn_days_before=7, exempt_roles=["admin"])
    to_warn = make_person(quiet_days=85, now=now)
    to_deactivate = make_person(quiet_days=100, now=now)
    DormancyWarning.objects.create(
        membership=to_deactivate,
        quiet_since=to_deactivate.last_active,
        warned_at=now - days(8),
        deactivate_on=now.date() - days(1),
        token_hash=services.hash_token(f"beat-test-{to_deactivate.pk}"),
    )
    connection.set_schema_to_public()
    yield acme, to_warn, to_deactivate
    connection.set_tenant(acme)
    people = [to_warn, to_deactivate]
    AuditEvent.objects.filter(target_repr__in=[p.email for p in people]).delete()
    AuditEvent.objects.filter(action="dormancy.update_policy").delete()
    DormancyWarning.objects.filter(membership__in=people).delete()
    PolicyRun.objects.all().delete()
    DormancyPolicy.objects.all().delete()
    Membership.objects.filter(pk__in=[p.pk for p in people]).delete()
    connection.set_schema_to_public()
    get_user_model().objects.filter(email__in=[p.email for p in people])._raw_delete(connection.alias)


def test_beat_and_a_worker_run_the_daily_job_once(dormant_people, tmp_path):
    acme, to_warn, to_deactivate = dormant_people
    mail_dir = tmp_path / "mail"
    today = timezone.now().astimezone(dt.UTC).date()
    worker_env = {
        "ORGDASH_TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
    }
    with (
        celery_worker("hygiene-beat", **worker_env),
        celery_beat("hygiene", tmp_path, ORGDASH_HYGIENE_EVERY_SECONDS="1"),
    ):
        connection.set_tenant(acme)

        def warned_and_deactivated():
            warning = DormancyWarning.objects.filter(membership=to_warn).first()
            deactivated = Membership.objects.get(pk=to_deactivate.pk).state == Membership.State.DEACTIVATED
            return warning is not None and warning.sent_at is not None and deactivated

        wait_for(warned_and_deactivated, "the policy's run in the worker")
        # Beat keeps firing; wait for a later run of acme the same day, which must do nothing.
        log = settings.BASE_DIR / "test-artifacts" / "celery-hygiene-beat.log"
        wait_for(lambda: f"acme: dormancy {today}: nothing to do" in log.read_text(), "a second run of the day")

    connection.set_tenant(acme)
    assert DormancyWarning.objects.filter(membership=to_warn).count() == 1
    assert PolicyRun.objects.filter(day=today).count() == 1
    policy_rows = AuditEvent.objects.filter(actor_email=SystemActor.POLICY)
    assert policy_rows.filter(action="dormancy.warn", target_membership=to_warn).count() == 1
    assert policy_rows.filter(action="membership.deactivate", target_membership=to_deactivate).count() == 1
    mails = [path.read_text() for path in mail_dir.iterdir()]
    assert sum(f"To: {to_warn.email}" in text for text in mails) == 1
    assert not any(f"To: {to_deactivate.email}" in text for text in mails)
