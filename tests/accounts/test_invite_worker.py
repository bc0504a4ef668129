"""The invite e-mail through a real Celery worker process and the real Redis broker: queued on
commit inside acme's schema, sent by the worker in that schema, and its link accepted."""

import re
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from accounts import services
from accounts.models import AuditEvent, Invite, Membership
from orgdash.core.models import Organization
from tests.conftest import celery_worker, host_of


@pytest.fixture
def mail_dir(tmp_path):
    return tmp_path / "mail"


@pytest.fixture
def worker(committed, mail_dir):
    with celery_worker(
        "invite-test",
        ORGDASH_TEST_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mail_dir),
    ) as process:
        yield process


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
