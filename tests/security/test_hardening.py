"""CSRF on every form and session write, no user enumeration on the login and invite pages, and
the security headers of every page the matrix reaches."""

import re

import pytest
from django.contrib.auth import hashers
from django.db import connection
from django.test import Client

from accounts.services import invite_create
from orgdash.core.models import User
from tests.conftest import PASSWORD, host_of, login

pytestmark = pytest.mark.django_db
ACME = host_of("acme")


def _csrf_client(*, logged_in_as: str | None = None) -> Client:
    client = Client(HTTP_HOST=ACME, enforce_csrf_checks=True)
    if logged_in_as:
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
        response = client.post(
            "/accounts/login/", {"email": logged_in_as, "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302
    return client


def test_login_form_without_csrf_token_is_refused(acme):
    client = Client(HTTP_HOST=ACME, enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"email": "admin@acme.test", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/api/v1/invites/", {"emails": ["csrf@example.test"], "role": "member"}),
        ("post", "/api/v1/users/{member}/deactivate/", {}),
        ("patch", "/api/v1/users/{member}/", {"role": "admin"}),
        ("delete", "/api/v1/invites/{member}/", None),
        ("post", "/api/v1/api-keys/", {"label": "csrf"}),
    ],
)
def test_session_writes_without_csrf_token_are_refused(acme, method, path, body):
    client = _csrf_client(logged_in_as="admin@acme.test")
    member_id = _member_id(acme, "member@acme.test")
    path = path.format(member=member_id)
    kwargs = {"content_type": "application/json"}
    response = getattr(client, method)(path, body, **kwargs) if body is not None else getattr(client, method)(path)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    # With the token (as the page's JavaScript sends it) the same session may write.
    token = client.cookies["csrftoken"].value
    allowed = client.post(
        "/api/v1/api-keys/", {"label": "with token"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert allowed.status_code == 201


def test_api_key_requests_need_no_csrf_token(acme):
    client = Client(HTTP_HOST=ACME, enforce_csrf_checks=True)
    connection.set_tenant(acme)
    from accounts.models import Membership
    from accounts.services import api_key_create

    _, secret = api_key_create(membership=Membership.objects.get(email="admin@acme.test"))
    connection.set_schema_to_public()
    response = client.post(
        "/api/v1/invites/",
        {"emails": ["by-key@example.test"], "role": "member"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201


def _member_id(acme, email):
    from accounts.models import Membership

    connection.set_tenant(acme)
    try:
        return Membership.objects.get(email=email).pk
    finally:
        connection.set_schema_to_public()


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_every_form_carries_a_csrf_token(acme, path):
    html = Client(HTTP_HOST=ACME).get(path).content.decode()
    forms = re.findall(r"<form\b[^>]*method=\"post\"[^>]*>.*?</form>", html, flags=re.S | re.I)
    assert forms
    for form in forms:
        assert 'name="csrfmiddlewaretoken"' in form


def test_invite_page_form_carries_a_csrf_token(in_acme):
    admin = User.objects.get(email="admin@acme.test")
    result = invite_create(emails=["csrf-invitee@example.test"], actor=admin)
    token = next(iter(result.tokens.values()))
    connection.set_schema_to_public()
    html = Client(HTTP_HOST=ACME).get(f"/invite/{token}/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in html


def _without_token(html: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.decode())


def test_login_does_not_tell_whether_an_account_exists(acme):
    unknown = Client(HTTP_HOST=ACME).post("/accounts/login/", {"email": "nobody@acme.test", "password": "wrong-one"})
    known = Client(HTTP_HOST=ACME).post("/accounts/login/", {"email": "member@acme.test", "password": "wrong-one"})
    other_org = Client(HTTP_HOST=ACME).post("/accounts/login/", {"email": "admin@globex.test", "password": PASSWORD})
    assert unknown.status_code == known.status_code == other_org.status_code == 200
    page = _without_token(unknown.content)
    assert _without_token(known.content).replace("member@acme.test", "nobody@acme.test") == page
    assert _without_token(other_org.content).replace("admin@globex.test", "nobody@acme.test") == page


class _CountingHasher(hashers.MD5PasswordHasher):
    computations = 0

    def encode(self, password, salt):
        type(self).computations += 1
        return super().encode(password, salt)


def test_a_failed_login_costs_the_same_for_known_and_unknown_accounts(acme, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}._CountingHasher"]
    User.objects.filter(email="member@acme.test").update(password=hashers.make_password("x", hasher="md5"))
    costs = {}
    for email in ("nobody@acme.test", "member@acme.test"):
        _CountingHasher.computations = 0
        Client(HTTP_HOST=ACME).post("/accounts/login/", {"email": email, "password": "wrong-one"})
        costs[email] = _CountingHasher.computations
    assert costs["nobody@acme.test"] == costs["member@acme.test"], costs


def test_invite_links_do_not_tell_used_from_unknown(in_acme):
    admin = User.objects.get(email="admin@acme.test")
    result = invite_create(emails=["used-link@example.test"], actor=admin)
    membership_id, token = next(iter(result.tokens.items()))
    from accounts.models import Membership
    from accounts.services import invite_cancel

    invite_cancel(membership=Membership.objects.get(pk=membership_id), actor=admin)
    connection.set_schema_to_public()
    client = Client(HTTP_HOST=ACME)
    cancelled = client.get(f"/invite/{token}/")
    unknown = client.get("/invite/" + "x" * len(token) + "/")
    assert cancelled.status_code == unknown.status_code == 404
    assert cancelled.content == unknown.content
    assert b"used-link@example.test" not in cancelled.content


def test_inviting_an_existing_member_is_answered_to_the_admin_only(acme, acme_client):
    """Skipped addresses are reported to the org's admin (who can see the member list anyway);
    members cannot probe who belongs to the org through the invite endpoint."""
    login(acme_client, "member@acme.test")
    response = acme_client.post(
        "/api/v1/invites/", {"emails": ["admin@acme.test"], "role": "member"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "admin@acme.test" not in response.content.decode()


@pytest.mark.parametrize("path", ["/accounts/login/", "/org/dashboard/", "/org/dashboard/audit/", "/api/v1/users/"])
def test_security_headers(acme, acme_client, path):
    if path != "/accounts/login/":
        login(acme_client, "admin@acme.test")
    response = acme_client.get(path)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "same-origin" in response["Referrer-Policy"]
    if path != "/accounts/login/":
        cookie = acme_client.cookies["sessionid"]
        assert cookie["httponly"] and not cookie["domain"]  # host-only: one session per org host


def test_api_keys_are_stored_only_as_hashes(in_acme):
    from accounts.models import ApiKey, Membership
    from accounts.services import api_key_create
    from orgdash.core.keys import hash_api_key

    api_key, secret = api_key_create(membership=Membership.objects.get(email="member@acme.test"))
    stored = ApiKey.objects.filter(pk=api_key.pk).values().get()
    assert stored["key_hash"] == hash_api_key(secret)
    assert secret not in str(stored.values())
    assert len(secret) >= 40  # 256 random bits behind the prefix


def test_production_hashes_passwords_with_argon2():
    from orgdash.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    argon2 = hashers.Argon2PasswordHasher()
    encoded = argon2.encode("a password", argon2.salt())
    assert encoded.startswith("argon2$argon2id$")
