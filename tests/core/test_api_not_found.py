"""Every answer under /api/v1/ is JSON, also for paths that name no endpoint, a path missing its
trailing slash and an unknown org's host; with DEBUG on (development) as with it off."""

import json

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.models import Membership
from tests.accounts.conftest import bearer, key_for
from tests.factories import make_member

pytestmark = pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])


@pytest.fixture
def admin_key(acme):
    return bearer(key_for(acme, "admin@acme.test"))


def _json_404(response) -> str:
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    return response.json()["detail"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/users/abc/"),
        ("get", "/api/v1/nosuch/"),
        ("delete", "/api/v1/api-keys/abc/"),
        ("post", "/api/v1/nosuch"),
        ("get", "/api/v1/"),
        ("get", "/api/v1/users/export.csv/"),
    ],
)
def test_a_path_that_names_no_endpoint_is_a_json_404(settings, acme_client, admin_key, debug, method, path):
    settings.DEBUG = debug
    for auth in (admin_key, {}):
        assert _json_404(getattr(acme_client, method)(path, **auth)) == "Not found."


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/api/v1/invites", {"emails": ["new-invitee@ext.test"]}),
        ("post", "/api/v1/users/bulk", {"action": "deactivate", "ids": ["{member}"]}),
        ("patch", "/api/v1/me", {"name": "Someone Else"}),
        ("patch", "/api/v1/users/{member}", {"role": "viewer"}),
        ("put", "/api/v1/settings/dormancy", {"enabled": True, "after_days": 60}),
        ("delete", "/api/v1/users/{member}", None),
        ("post", "/api/v1/users/{member}/deactivate", None),
    ],
)
def test_a_write_to_a_path_without_its_slash_is_a_json_404_naming_the_path(
    settings, acme, acme_client, admin_key, debug, method, path, body
):
    settings.DEBUG = debug
    connection.set_tenant(acme)
    member = make_member()
    before = list(Membership.objects.order_by("pk").values())
    connection.set_schema_to_public()
    path = path.format(member=member.pk)
    data = json.dumps(body).replace('"{member}"', str(member.pk)) if body is not None else None
    response = getattr(acme_client, method)(path, data, content_type="application/json", **admin_key)
    detail = _json_404(response)
    assert f"{method.upper()} {path}/" in detail and "slash" in detail
    connection.set_tenant(acme)
    assert list(Membership.objects.order_by("pk").values()) == before


def test_a_read_of_a_path_without_its_slash_is_redirected(settings, acme_client, admin_key, debug):
    settings.DEBUG = debug
    response = acme_client.get("/api/v1/users?status=active&page_size=5", **admin_key)
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/users/?status=active&page_size=5"
    assert acme_client.get(response["Location"], **admin_key).status_code == 200
    assert _json_404(acme_client.get("/api/v1/nosuch", **admin_key)) == "Not found."


def test_an_unknown_org_host_is_a_json_404_under_the_api_and_a_page_elsewhere(db, settings, debug):
    settings.DEBUG = debug
    client = Client(HTTP_HOST=f"nosuch.{settings.ORGDASH_BASE_DOMAIN}")
    for path in ("/api/v1/users/", "/api/v1/users/bulk"):
        assert _json_404(client.get(path)) == "Not found."
    assert _json_404(client.post("/api/v1/invites/", "{}", content_type="application/json")) == "Not found."
    response = client.get("/accounts/login/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_catch_all_is_not_in_the_openapi_schema(acme_client, debug):
    schema = acme_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert all("{path}" not in path for path in schema["paths"]), list(schema["paths"])
    assert settings.SPECTACULAR_SETTINGS["SCHEMA_PATH_PREFIX"] == r"/api/v1"
