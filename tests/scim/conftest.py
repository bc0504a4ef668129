import json

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client

from accounts.services import scim_token_rotate
from orgdash.celery import app as celery_app
from tests.conftest import host_of

SCIM = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Key-guess counters and activity keys live in Redis and outlive a test's rollback."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def eager_tasks():
    """Invite e-mails are sent inline (Celery's config is read once, so settings would not reach it)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


class ScimClient:
    """A Django test client speaking SCIM on an org's host with that org's token."""

    def __init__(self, slug: str, token: str):
        self.client = Client(HTTP_HOST=host_of(slug), raise_request_exception=False)
        self.token = token

    def request(self, method: str, path: str, body=None, **headers):
        extra = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        extra.update({f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()})
        kwargs = {}
        if body is not None:
            kwargs = {"data": body if isinstance(body, (str, bytes)) else json.dumps(body), "content_type": SCIM}
        response = getattr(self.client, method)(f"/scim/v2/{path}", **kwargs, **extra)
        response.json_body = json.loads(response.content) if response.content else None
        return response

    def get(self, path, **headers):
        return self.request("get", path, **headers)

    def post(self, path, body, **headers):
        return self.request("post", path, body, **headers)

    def put(self, path, body, **headers):
        return self.request("put", path, body, **headers)

    def patch(self, path, body, **headers):
        return self.request("patch", path, body, **headers)

    def delete(self, path, **headers):
        return self.request("delete", path, **headers)


def token_for(org) -> str:
    connection.set_tenant(org)
    _, secret = scim_token_rotate()
    connection.set_schema_to_public()
    return secret


@pytest.fixture
def scim(acme) -> ScimClient:
    return ScimClient("acme", token_for(acme))


def new_user(email: str, **fields) -> dict:
    return {"schemas": [USER_SCHEMA], "userName": email, "emails": [{"value": email, "primary": True}], **fields}


def patch_ops(*operations) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]
