"""Password reset per org: the same answer for anyone, a single-use expiring link e-mailed by Celery,
the password rules, an audit row, and no way back in for a deactivated member."""

import datetime as dt
import re
import uuid
from email import policy
from email.parser import BytesParser

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from accounts.models import AuditEvent, Membership
from accounts.services import membership_add, membership_deactivate, user_get_or_create
from accounts.tokens import OrgPasswordResetTokenGenerator
from orgdash.core.models import LoginThrottle, Organization
from tests.clock import Clock
from tests.conftest import PASSWORD, celery_worker, host_of, login
from tests.security.conftest import wait_until

NEW_PASSWORD = "a-brand-new-passphrase-42"
ADDRESS = "203.0.113.20"
WORKER_ADDRESS = "192.0.2.77"
LINK = re.compile(r"http://[a-z]+\.[^/\s]+(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


def ask_reset(client, email, address=ADDRESS):
    return client.post("/accounts/password/reset/", {"email": email}, REMOTE_ADDR=address)


@pytest.fixture
def ask(acme_client, eager_tasks, django_capture_on_commit_callbacks):
    """Asks for a reset at acme; returns the response and the links e-mailed."""

    def ask_for(email, client=acme_client, address=ADDRESS):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = ask_reset(client, email, address)
        return response, [LINK.search(message.body).group(1) for message in mail.outbox]

    return ask_for


def set_password(client, link, password=NEW_PASSWORD, again=None):
    response = client.get(link)
    assert response.status_code == 302  # Django moves the token into the session first
    form_url = response["Location"]
    return client.post(
        form_url, {"new_password1": password, "new_password2": again or password}, REMOTE_ADDR=ADDRESS
    ), form_url


def password_ok(email, password) -> bool:
    return get_user_model().objects.get(email=email).check_password(password)


def test_log_in_page_links_to_password_reset(acme_client):
    page = acme_client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in page
    assert "Forgot your password?" in page


def test_a_member_gets_a_link_that_sets_a_new_password(acme_client, ask, acme):
    response, links = ask("Member@Acme.test")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/done/"
    assert len(links) == 1
    message = mail.outbox[0]
    assert message.to == ["member@acme.test"]
    assert "Acme" in message.subject
    assert links[0] in message.body and message.body.count("http://acme.") == 1

    response, _ = set_password(acme_client, links[0])
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/complete/"
    assert password_ok("member@acme.test", NEW_PASSWORD)
    assert login(acme_client, "member@acme.test", PASSWORD).status_code == 200
    assert login(acme_client, "member@acme.test", NEW_PASSWORD).status_code == 302

    connection.set_tenant(acme)
    row = AuditEvent.objects.get(action="password.reset")
    assert (row.actor_email, row.target_repr, row.ip_address) == ("member@acme.test", "member@acme.test", ADDRESS)


def test_the_answer_is_the_same_whoever_asks(acme_client, ask, in_acme):
    member = Membership.objects.get(email="viewer@acme.test")
    membership_deactivate(membership=member, actor=None)
    connection.set_schema_to_public()
    answers = {}
    # A member; no account at all; another org's member; a deactivated member.
    for email in ["member@acme.test", "nobody@example.com", "admin@globex.test", "viewer@acme.test"]:
        response, links = ask(email)
        answers[email] = (response.status_code, response["Location"], len(links))
    assert answers == {
        "member@acme.test": (302, "/accounts/password/reset/done/", 1),
        "nobody@example.com": (302, "/accounts/password/reset/done/", 0),
        "admin@globex.test": (302, "/accounts/password/reset/done/", 0),
        "viewer@acme.test": (302, "/accounts/password/reset/done/", 0),
    }
    assert "Check your e-mail" in acme_client.get("/accounts/password/reset/done/").content.decode()


def test_a_reset_ends_the_accounts_other_sessions(acme_client, acme, ask):
    elsewhere = Client(HTTP_HOST=host_of("acme"))
    assert login(elsewhere, "member@acme.test").status_code == 302
    assert elsewhere.get("/").status_code == 200
    _, links = ask("member@acme.test")
    set_password(acme_client, links[0])
    response = elsewhere.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_link_works_once(acme_client, ask):
    _, links = ask("member@acme.test")
    assert set_password(acme_client, links[0])[0].status_code == 302
    response = acme_client.get(links[0])
    assert response.status_code == 200
    assert "This link does not work" in response.content.decode()
    assert password_ok("member@acme.test", NEW_PASSWORD)


def test_the_link_expires(acme_client, ask, settings, monkeypatch):
    _, links = ask("member@acme.test")
    later = dt.datetime.now() + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    monkeypatch.setattr(OrgPasswordResetTokenGenerator, "_now", lambda self: later)
    assert "This link does not work" in acme_client.get(links[0]).content.decode()
    assert password_ok("member@acme.test", PASSWORD)


def test_the_new_password_follows_the_rules(acme_client, ask):
    _, links = ask("member@acme.test")
    response, form_url = set_password(acme_client, links[0], password="12345678")
    assert response.status_code == 200
    page = response.content.decode()
    assert "This password is too common." in page
    assert "This password is entirely numeric." in page
    response = acme_client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert response.status_code == 200
    assert "The two password fields didn" in response.content.decode()
    assert password_ok("member@acme.test", PASSWORD)


def test_a_member_deactivated_after_asking_cannot_use_the_link(acme_client, ask, acme):
    _, links = ask("member@acme.test")
    connection.set_tenant(acme)
    membership_deactivate(membership=Membership.objects.get(email="member@acme.test"), actor=None)
    connection.set_schema_to_public()
    response = acme_client.get(links[0])
    assert "This link does not work" in response.content.decode()
    assert password_ok("member@acme.test", PASSWORD)


def test_a_link_asked_for_at_one_org_does_nothing_at_another(ask, acme_client, globex_client, globex):
    # member@acme.test is a member of globex too: still, the acme link is acme's only.
    connection.set_tenant(globex)
    membership_add(user=get_user_model().objects.get(email="member@acme.test"))
    connection.set_schema_to_public()
    _, links = ask("member@acme.test")
    response = globex_client.get(links[0])
    assert "This link does not work" in response.content.decode()


def test_requests_are_limited_per_address_and_org(acme_client, globex_client, ask, settings):
    settings.ORGDASH_PASSWORD_RESET_LIMIT = 3
    for _ in range(3):
        assert ask("nobody@example.com")[0].status_code == 302
    response, links = ask("member@acme.test")
    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.ORGDASH_LOGIN_COOLOFF_MINUTES * 60)
    assert "Too many password reset requests" in response.content.decode()
    assert links == []
    # Another address, or another org, asks freely.
    assert ask("member@acme.test", address="198.51.100.9")[1] != []
    assert len(ask("admin@globex.test", client=globex_client)[1]) == 1


def test_a_reset_lifts_the_accounts_lock(acme_client, ask, settings, monkeypatch):
    settings.ORGDASH_LOGIN_FAILURE_LIMIT = 3
    Clock(monkeypatch)
    for _ in range(3):
        acme_client.post("/accounts/login/", {"email": "member@acme.test", "password": "nope"}, REMOTE_ADDR=ADDRESS)
    assert LoginThrottle.objects.filter(schema_name="acme", account="member@acme.test").exists()
    _, links = ask("member@acme.test")
    set_password(acme_client, links[0])
    response = acme_client.post(
        "/accounts/login/", {"email": "member@acme.test", "password": NEW_PASSWORD}, REMOTE_ADDR=ADDRESS
    )
    assert response.status_code == 302


@pytest.fixture
def committed_member(committed):
    """A member of acme committed for a worker to see (a fresh one: the test changes its password)."""
    email = f"reset-worker-{uuid.uuid4().hex[:10]}@example.test"
    with schema_context("public"):
        acme = Organization.objects.get(slug="acme")
    user, _ = user_get_or_create(email=email, password=PASSWORD, name="Reset Worker")
    with tenant_context(acme):
        membership_add(user=user)
    yield email
    with tenant_context(acme):
        AuditEvent.objects.filter(target_repr=email).delete()
        Membership.objects.filter(email=email).delete()
        get_user_model().objects.filter(email=email).delete()
    LoginThrottle.objects.filter(schema_name="acme", address=WORKER_ADDRESS).delete()


def test_the_e_mail_is_sent_by_a_celery_worker(committed_member, tmp_path):
    client = Client(HTTP_HOST=host_of("acme"))
    mail_dir = tmp_path / "mail"
    env = {
        "ORGDASH_TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
    }
    with celery_worker("password-reset", **env):
        # No test transaction here: the request commits and queues the task, as in production.
        assert ask_reset(client, committed_member.upper(), WORKER_ADDRESS).status_code == 302
        assert ask_reset(client, "nobody@example.com", WORKER_ADDRESS).status_code == 302
        wait_until(lambda: list(mail_dir.glob("*.log")), timeout=60, what="the reset e-mail")
    messages = [BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in mail_dir.glob("*.log")]
    assert [message["To"] for message in messages] == [committed_member]
    link = LINK.search(messages[0].get_body(("plain",)).get_content()).group(1)
    assert set_password(client, link)[0].status_code == 302
    assert password_ok(committed_member, NEW_PASSWORD)
    with schema_context("acme"):
        actions = AuditEvent.objects.filter(target_repr=committed_member).values_list("action", "ip_address")
        assert sorted(actions) == [("password.reset", ADDRESS), ("password.reset_request", WORKER_ADDRESS)]
