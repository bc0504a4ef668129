import datetime as dt
import uuid

import pytest
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import membership_add, user_get_or_create
from orgdash.celery import app as celery_app
from tests.conftest import PASSWORD, login

NOW = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def make_person(*, quiet_days: int | None = None, role: str = Role.MEMBER, now: dt.datetime = NOW, never_active=False):
    """A joined member of the current org last active ``quiet_days`` before ``now`` (or, with
    ``never_active``, added then and never active)."""
    email = f"quiet-{uuid.uuid4().hex[:10]}@example.test"
    user, _ = user_get_or_create(email=email, password=PASSWORD, name=f"Quiet {email[6:12]}")
    member = membership_add(user=user, role=role)
    moment = now - days(quiet_days or 0)
    if never_active:
        Membership.objects.filter(pk=member.pk).update(created_at=moment, joined_at=moment, last_active=None)
    else:
        Membership.objects.filter(pk=member.pk).update(
            created_at=now - days(800), joined_at=now - days(800), last_active=moment
        )
    member.refresh_from_db()
    return member


@pytest.fixture
def eager_celery():
    """Tasks queued on commit run inline (the e-mail lands in ``mail.outbox``)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def admin_client(acme_client):
    assert login(acme_client, "admin@acme.test").status_code == 302
    return acme_client


@pytest.fixture
def member_client(acme_client):
    assert login(acme_client, "member@acme.test").status_code == 302
    return acme_client
