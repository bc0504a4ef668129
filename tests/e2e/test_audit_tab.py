"""The Audit log tab in Chromium: rows, filters and pagination as an admin sees them."""

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AuditEvent
from orgdash.core.models import Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot


@pytest.fixture
def audit_rows(django_db_setup, django_db_blocker):
    """60 committed audit rows under a unique actor domain; removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    with django_db_blocker.unblock():
        acme = Organization.objects.get(slug="acme")
        connection.set_tenant(acme)
        now = timezone.now()
        AuditEvent.objects.bulk_create(
            AuditEvent(
                created_at=now - dt.timedelta(minutes=n),
                actor_email=f"auditor{n % 2}@{tag}.test",
                action="membership.deactivate" if n % 3 == 0 else "invite.create",
                target_repr=f"<img src=x onerror=alert(1)>{n}@{tag}.test",
                ip_address="203.0.113.9",
            )
            for n in range(60)
        )
        connection.set_schema_to_public()
        yield tag
        connection.set_tenant(acme)
        AuditEvent.objects.filter(actor_email__endswith=f"@{tag}.test").delete()
        AuditEvent.objects.filter(action="staff.view_org").delete()
        connection.set_schema_to_public()


def test_admin_reads_filters_and_pages_the_audit_log(page, live_server_port, audit_rows):
    tag = audit_rows
    errors = []
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, "/org/dashboard/"))
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/org/dashboard/audit/")
    rows = page.locator("#audit-rows tr")
    page.get_by_label("Actor").fill(f"@{tag}.test")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#audit-range")).to_contain_text("of 60")  # the page's CSP forbids eval
    assert rows.count() == 50
    first = rows.nth(0).locator("td")
    assert first.nth(1).inner_text() == f"auditor0@{tag}.test"
    # Actions read as words; the stored code stays in the API and the badge's title.
    assert first.nth(2).inner_text() == "Deactivated"
    assert first.nth(2).locator(".audit-action").get_attribute("title") == "membership.deactivate"
    # Recorded text is shown as text: the image tag in the target never becomes markup.
    assert first.nth(3).inner_text() == f"<img src=x onerror=alert(1)>0@{tag}.test"
    assert first.nth(4).inner_text() == "203.0.113.9"
    assert page.locator("#audit-rows img").count() == 0
    screenshot(page, "audit-log")

    page.get_by_role("button", name="Next").click()
    expect(page.locator("#audit-range")).to_have_text(re.compile(r"^51"))
    assert rows.count() == 10
    assert page.get_by_role("button", name="Next").is_disabled()

    page.get_by_label("Action").select_option("membership.deactivate")
    expect(page.locator("#audit-range")).to_contain_text("of 20")
    assert rows.count() == 20
    export = page.locator("#audit-export").get_attribute("href")
    assert "action=membership.deactivate" in export and f"actor=%40{tag}.test" in export
    # The filters are in the page's URL: a reload keeps them, Back returns to the previous ones.
    expect(page).to_have_url(re.compile(r"action=membership\.deactivate"))
    page.reload()
    expect(page.get_by_label("Action")).to_have_value("membership.deactivate")
    expect(page.locator("#audit-range")).to_contain_text("of 20")
    page.go_back()
    expect(page.get_by_label("Action")).to_have_value("")
    expect(page.locator("#audit-range")).to_contain_text("of 60")
    assert errors == []


def test_dates_the_wrong_way_round_say_so_and_show_no_rows(page, live_server_port, audit_rows):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, f"/org/dashboard/audit/?actor=%40{audit_rows}.test"))
    expect(page.locator("#audit-range")).to_contain_text("of 60")
    page.get_by_label("From", exact=True).fill("2026-12-05")
    page.get_by_label("To", exact=True).fill("2026-11-01")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_have_text("The To date is before the From date.")
    # The rows of the earlier filters are gone: nothing reads as the answer to these.
    expect(page.locator("#audit-rows tr")).to_have_count(0)
    expect(page.locator("#audit-range")).to_have_text("")
    expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("To", exact=True).fill("2026-12-31")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_label("To", exact=True)).not_to_have_attribute("aria-invalid", "true")


def test_a_page_that_fails_to_load_leaves_the_shown_one_and_can_be_tried_again(page, live_server_port, audit_rows):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, f"/org/dashboard/audit/?actor=%40{audit_rows}.test"))
    expect(page.locator("#audit-range")).to_have_text("1\N{EN DASH}50 of 60")
    page.route("**/api/v1/audit/?*page=2*", lambda route: route.abort())  # the network drops
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("#audit-rows tr")).to_have_count(50)  # the page on screen stays
    expect(page.locator("#audit-range")).to_have_text("1\N{EN DASH}50 of 60")
    page.unroute("**/api/v1/audit/?*page=2*")
    page.get_by_role("button", name="Next").click()  # tried again: the second page, not a third
    expect(page.locator("#audit-range")).to_have_text("51\N{EN DASH}60 of 60")
    expect(page.get_by_role("alert")).to_be_hidden()
