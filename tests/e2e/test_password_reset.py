"""Password reset in Chromium: ask for the link, read the e-mail, set the password, log in; and the
locked-out page that leads there."""

import re
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import AuditEvent, Membership
from accounts.services import membership_add, user_get_or_create
from orgdash.core.models import LoginThrottle, Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import org_url, screenshot, sent_mail

NEW_PASSWORD = "a-brand-new-passphrase-42"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def member_email(committed):
    """A committed member of acme with the baseline password; removed afterwards."""
    email = f"reset-{uuid.uuid4().hex[:10]}@example.test"
    with schema_context("public"):
        acme = Organization.objects.get(slug="acme")
    user, _ = user_get_or_create(email=email, password=PASSWORD, name="Rosa Reset")
    connection.set_tenant(acme)
    membership_add(user=user)
    connection.set_schema_to_public()
    yield email
    connection.set_tenant(acme)
    AuditEvent.objects.filter(target_repr=email).delete()
    Membership.objects.filter(email=email).delete()
    get_user_model().objects.filter(email=email).delete()
    connection.set_schema_to_public()
    # This test's counters: its account's lock, and the browser address's counts at acme.
    LoginThrottle.objects.filter(schema_name="acme", account=email).delete()
    LoginThrottle.objects.filter(schema_name="acme", scope__in=["address", "reset"]).delete()


def _wait_for_mail(to: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sent_mail(to)
        if messages:
            return messages
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {to} within {timeout}s")


def _fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _log_in(page, port, email, password):
    page.goto(org_url("acme", port, "/accounts/login/"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_reset_a_forgotten_password_and_log_in(new_page, live_server_port, member_email, viewport):
    page = new_page(viewport)
    port = live_server_port
    page.goto(org_url("acme", port, "/accounts/login/"))
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password for Acme")).to_be_visible()
    assert _fits_the_width(page)
    page.get_by_label("E-mail").fill(member_email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    (message,) = _wait_for_mail(member_email)
    assert "Acme" in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://\S+/accounts/password/reset/[^/\s]+/[^/\s]+/", body).group(0)

    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert _fits_the_width(page)
    # The password rules apply.
    page.get_by_label("New password", exact=True).fill("12345678")
    page.get_by_label("New password again").fill("12345678")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_text("This password is too common.")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()
    screenshot(page, f"password-reset-complete-{'phone' if viewport else 'desktop'}")

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("E-mail").fill(member_email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="You are signed in to Acme")).to_be_visible()
    expect(page.get_by_text(f"signed in as {member_email}")).to_be_visible()

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()


def test_locked_out_page_says_how_long_and_leads_to_reset(new_page, live_server_port, member_email):
    page = new_page(PHONE)
    for _ in range(9):
        _log_in(page, live_server_port, member_email, "not-the-password")
        expect(page.get_by_role("alert")).to_contain_text("do not match an account of this organization")
    _log_in(page, live_server_port, member_email, "not-the-password")
    expect(page.get_by_role("heading", name="Too many failed log-in attempts")).to_be_visible()
    expect(page.get_by_text("Try again in 15 minutes")).to_be_visible()
    assert _fits_the_width(page)
    screenshot(page, "locked-out-phone")
    # Locked: the right password is refused too, until a reset.
    _log_in(page, live_server_port, member_email, PASSWORD)
    expect(page.get_by_role("heading", name="Too many failed log-in attempts")).to_be_visible()
    page.get_by_role("link", name="Reset your password").click()
    expect(page.get_by_role("heading", name="Reset your password for Acme")).to_be_visible()
