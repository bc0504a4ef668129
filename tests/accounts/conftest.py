import pytest
from django.core.cache import cache
from django.db import connection

from accounts.models import Membership
from accounts.services import api_key_create
from orgdash.celery import app as celery_app
from tests.conftest import login


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Counters kept in Redis (API key guessing, activity de-duplication) outlive a test's rollback."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def eager_tasks():
    """Runs Celery tasks inline (the app's config is read once, so Django's settings fixture would not reach it)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def admin_client(acme_client):
    assert login(acme_client, "admin@acme.test").status_code == 302
    return acme_client


def membership_of(email: str) -> Membership:
    """The current schema's membership of ``email``."""
    return Membership.objects.get(email__iexact=email)


def key_for(org, email: str | None) -> str:
    """A new API key of ``email`` in ``org`` (a service key for None); leaves the connection in public."""
    connection.set_tenant(org)
    try:
        membership = membership_of(email) if email else None
        _, secret = api_key_create(membership=membership)
    finally:
        connection.set_schema_to_public()
    return secret


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
