"""The Users tab shows a pending invite's delivery trouble (a failed e-mail, an expired link) under
its badge and in the Last Active tooltip, and a resend clears it in place. Chromium against the live
server; the invites are committed into acme under a unique tag and removed afterwards."""

import secrets
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import INVITE_SEND_RETRIES as SEND_RETRIES
from accounts.models import AuditEvent, Invite, Membership
from accounts.services import hash_token
from orgdash.core.models import Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot
from tests.factories import make_pending_invite

# Markup in a mail server's answer must show as text, never as HTML.
SMTP_ERROR = "SMTPRecipientsRefused: 550 <b>no such user</b> here"


def _day(moment) -> str:
    """A date as the Users tab writes it (UTC): ``Nov 25, 2026``."""
    return f"{moment:%b} {moment.day}, {moment.year}"


class Invites:
    """Committed pending invites in acme, each with its Invite row set to a given delivery state."""

    def __init__(self):
        with schema_context("public"):
            self.org = Organization.objects.get(slug="acme")
            self.admin = get_user_model().objects.get(email="admin@acme.test")
        self.tag = uuid.uuid4().hex[:10]

    def make(self, local: str, **invite_fields) -> Membership:
        connection.set_tenant(self.org)
        try:
            membership = make_pending_invite(email=f"{local}.{self.tag}@example.test", invited_by=self.admin)
            invite_fields.setdefault("expires_at", timezone.now() + timedelta(days=7))
            Invite.objects.create(
                membership=membership, token_hash=hash_token(secrets.token_urlsafe()), **invite_fields
            )
            return membership
        finally:
            connection.set_schema_to_public()

    def cleanup(self):
        connection.set_tenant(self.org)
        AuditEvent.objects.filter(target_repr__icontains=self.tag).delete()
        Membership.objects.filter(email__icontains=self.tag).delete()  # their Invite rows go with them
        connection.set_schema_to_public()


@pytest.fixture
def invites(committed):
    made = Invites()
    yield made
    made.cleanup()


def test_invite_delivery_trouble_is_shown_and_resend_clears_it(page, live_server_port, invites):
    now = timezone.now()
    failed = invites.make("failed", send_attempts=SEND_RETRIES + 1, last_send_error=SMTP_ERROR)
    retrying = invites.make("retrying", send_attempts=2, last_send_error="TimeoutError: timed out")
    expired_at = now - timedelta(days=2)
    expired = invites.make("expired", expires_at=expired_at, sent_at=now - timedelta(days=9), send_attempts=1)
    delivered_until = now + timedelta(days=5)
    delivered = invites.make("delivered", expires_at=delivered_until, sent_at=now, send_attempts=1)

    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, f"/org/dashboard/?search={invites.tag}&ordering=email"))
    rows = page.locator("#users-rows tr.user-row")
    expect(rows).to_have_count(4)

    def row_of(membership):
        return rows.filter(has=page.locator(".td-email", has_text=membership.email))

    def note_of(membership):
        return row_of(membership).locator(".td-status .invite-note")

    expect(row_of(failed).locator(".badge")).to_have_text("Invite pending")
    expect(note_of(failed)).to_have_text(f"E-mail failed ({SEND_RETRIES + 1} attempts)")
    expect(note_of(retrying)).to_have_text("E-mail not delivered — retrying")
    expect(note_of(expired)).to_have_text("Expired — resend")
    expect(note_of(delivered)).to_have_count(0)
    screenshot(page, "users-tab-invite-notes")

    # The tooltips: who invited them and when, the link's expiry, and the mail server's answer as text.
    row_of(failed).locator(".td-status .badge").hover()
    tooltip = page.get_by_role("tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(f"Invited {_day(now)} by admin@acme.test")
    expect(tooltip).to_contain_text(f"E-mail error: {SMTP_ERROR}")
    expect(tooltip.locator("b")).to_have_count(0)
    screenshot(page, "users-tab-invite-delivery")

    row_of(expired).locator(".td-status .badge").hover()
    expect(page.get_by_role("tooltip")).to_contain_text(f"Link expired {_day(expired_at)}")
    row_of(delivered).locator(".td-status .badge").hover()
    expect(page.get_by_role("tooltip")).to_contain_text(f"Link expires {_day(delivered_until)}")
    expect(page.get_by_role("tooltip")).not_to_contain_text("E-mail error")
    page.mouse.move(0, 0)

    # Resend from the row menu: the row is redrawn from the returned User, without the trouble.
    for membership in (failed, expired):
        row_of(membership).get_by_role("button", name=f"Actions for {membership.email}").click()
        page.get_by_role("menu").get_by_role("menuitem", name="Resend invite").click()
        expect(page.get_by_role("status")).to_contain_text(f"Sent a new invite to {membership.email}")
        expect(note_of(membership)).to_have_count(0)
        expect(row_of(membership).locator(".badge")).to_have_text("Invite pending")
    row_of(expired).locator(".td-status .badge").hover()
    expect(page.get_by_role("tooltip")).to_contain_text("Link expires")
    expect(note_of(retrying)).to_have_text("E-mail not delivered — retrying")  # untouched

    # The same state after a reload: the live server sent the new links.
    page.reload()
    expect(rows).to_have_count(4)
    expect(page.locator("#users-rows .invite-note")).to_have_count(1)
    expect(note_of(retrying)).to_have_count(1)
