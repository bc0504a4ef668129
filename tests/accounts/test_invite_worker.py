"""The invite e-mail through a real Celery worker process and the real Redis broker: queued on
commit inside acme's schema, sent by the worker in that schema, and its link accepted."""

import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from accounts import services
from accounts.models import AuditEvent, Invite, Membership
from orgdash.celery import app as celery_app
from orgdash.core.models import Organization
from tests.conftest import host_of


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


@pytest.fixture
def mail_dir(tmp_path):
    return tmp_path / "mail"


@pytest.fixture
def worker(committed, mail_dir):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": connection.settings_dict["NAME"],
        "ORGDASH_TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
    }
    celery_app.control.purge()
    log_path = settings.BASE_DIR / "test-artifacts" / "celery-invite-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "orgdash", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--hostname", f"invite-test-{uuid.uuid4().hex[:8]}@%h"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start; see {log_path}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_invite_email_is_sent_by_the_worker_and_its_link_joins(worker, mail_dir):
    email = f"worker-{uuid.uuid4().hex[:8]}@example.test"
    acme = Organization.objects.get(slug="acme")
    connection.set_tenant(acme)
    try:
        # Autocommit here: the on-commit hook queues the task at once, with acme's schema.
        membership = services.invite_create(emails=[email]).invited[0]
        deadline = time.monotonic() + 30
        invite = Invite.objects.get(membership=membership)
        while invite.sent_at is None and time.monotonic() < deadline:
            time.sleep(0.2)
            invite.refresh_from_db()
        assert invite.sent_at is not None and invite.send_attempts == 1, "the worker did not send the invite"
        messages = [path.read_text() for path in mail_dir.iterdir()]
        assert len(messages) == 1 and f"To: {email}" in messages[0]
        token = re.search(r"http://acme\.localhost:8000/invite/([A-Za-z0-9_-]+)/", messages[0]).group(1)
        assert invite.token_hash == services.hash_token(token)

        connection.set_schema_to_public()
        client = Client(HTTP_HOST=host_of("acme"))
        response = client.post(
            f"/invite/{token}/",
            {"name": "Worker Joiner", "password1": "a-Long-pass-phrase", "password2": "a-Long-pass-phrase"},
        )
        assert response.status_code == 302
        connection.set_tenant(acme)
        assert Membership.objects.get(pk=membership.pk).state == Membership.State.JOINED
    finally:
        connection.set_tenant(acme)
        AuditEvent.objects.filter(target_repr=email).delete()
        Membership.objects.filter(email=email).delete()
        connection.set_schema_to_public()
        get_user_model().objects.filter(email=email)._raw_delete(connection.alias)
