"""The org settings page in Chromium: an admin configures the dormancy policy, reads the live
preview, enables it, sends themself the usage report; the Users tab's banner reactivates in one
click. At 1366 and 390 px."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AuditEvent, Membership
from hygiene import services
from hygiene.models import DormancyPolicy, DormancyWarning, PolicyRun, ReportSettings, UsageReport
from orgdash.core.models import Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot, sent_mail
from tests.hygiene.conftest import make_person


@pytest.fixture
def dormant(django_db_setup, django_db_blocker):
    """Two committed dormant members of acme (85 and 100 quiet days); everything removed after."""
    with django_db_blocker.unblock():
        acme = Organization.objects.get(slug="acme")
        connection.set_tenant(acme)
        people = [make_person(quiet_days=85), make_person(quiet_days=100)]
        connection.set_schema_to_public()
        yield acme, people
        connection.set_tenant(acme)
        emails = [p.email for p in people]
        AuditEvent.objects.filter(target_repr__in=emails).delete()
        AuditEvent.objects.filter(
            action__in=["dormancy.update_policy", "reports.update_settings", "reports.send_now", "staff.view_org"]
        ).delete()
        DormancyWarning.objects.filter(membership__in=people).delete()
        for model in (PolicyRun, DormancyPolicy, ReportSettings, UsageReport):
            model.objects.all().delete()
        Membership.objects.filter(pk__in=[p.pk for p in people]).delete()
        connection.set_schema_to_public()
        get_user_model().objects.filter(email__in=emails)._raw_delete(connection.alias)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", [1366, 390])
def test_admin_configures_previews_and_enables_the_policy(new_page, live_server_port, dormant, width):
    acme, (warned, gone) = dormant
    page = new_page({"width": width, "height": 900})
    errors = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and not m.text.startswith("Failed to load resource") else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and "favicon" not in r.url and not (r.status == 400 and "/settings/dormancy/" in r.url)
            else None
        ),
    )
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, "/org/dashboard/"))
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Dormant users")).to_be_visible()
    expect(page.get_by_label("Deactivate dormant users automatically")).not_to_be_checked()

    # The default terms (90 days, warn 7 before): both would be warned first.
    sample = page.locator("#preview-sample")
    expect(sample).to_contain_text(warned.email)
    expect(sample).to_contain_text(gone.email)
    assert int(page.locator("#preview-warn").inner_text()) >= 2

    # Stricter terms, previewed before saving: no warning, deactivate after 30 days.
    page.get_by_label("Warn this many days before").fill("0")
    page.get_by_label("Deactivate after (days without activity)").fill("30")
    expect(sample.locator("li", has_text=gone.email)).to_contain_text("deactivated")
    assert int(page.locator("#preview-deactivate").inner_text()) >= 2

    # Out of bounds: the field says why, and nothing is saved.
    page.get_by_label("Deactivate after (days without activity)").fill("20")
    expect(page.locator("#dormancy-after-error")).to_contain_text("greater than or equal to 30")
    # Saved anyway, from the button far below on a phone: the field in error takes focus (and
    # comes into view); an emptied field asks for a number.
    page.get_by_label("Deactivate after (days without activity)").fill("")
    expect(page.locator("#preview-status")).to_have_text("No preview: give both numbers of days.")
    page.get_by_role("button", name="Save policy").click()
    after = page.get_by_label("Deactivate after (days without activity)")
    expect(after).to_be_focused()
    expect(after).to_be_in_viewport()
    expect(page.locator("#dormancy-after-error")).to_have_text("Give a whole number of days.")
    page.get_by_label("Deactivate after (days without activity)").fill("120")
    page.get_by_label("Warn this many days before").fill("14")
    expect(page.locator("#dormancy-after-error")).to_be_empty()

    page.get_by_label("Deactivate dormant users automatically").check()
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#dormancy-saved")).to_contain_text("The policy is on")
    assert no_horizontal_scroll(page), "the settings page scrolls sideways"
    screenshot(page, f"settings-tab-{width}")
    page.reload()
    expect(page.get_by_label("Deactivate dormant users automatically")).to_be_checked()
    expect(page.get_by_label("Deactivate after (days without activity)")).to_have_value("120")

    connection.set_tenant(acme)
    policy = DormancyPolicy.objects.get()
    assert (policy.enabled, policy.after_days, policy.warn_days_before) == (True, 120, 14)
    connection.set_schema_to_public()
    assert not errors, errors


def test_admin_sends_themself_the_report_and_sets_recipients(page, live_server_port, dormant):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, "/org/dashboard/settings/"))
    before = len(sent_mail("admin@acme.test"))
    page.get_by_label("Send").select_option("monthly")
    page.get_by_label("Recipients").fill("boss@example.test, not-an-address")
    page.get_by_role("button", name="Save reports").click()
    expect(page.locator("#reports-recipients-error")).to_contain_text("'not-an-address' is not a valid e-mail address")
    page.get_by_label("Recipients").fill("Boss@Example.test")
    page.get_by_role("button", name="Save reports").click()
    expect(page.locator("#reports-saved")).to_contain_text("Reports go out monthly")
    expect(page.get_by_label("Recipients")).to_have_value("boss@example.test")
    page.get_by_role("button", name="Send me this report now").click()
    expect(page.locator("#reports-saved")).to_contain_text("on its way to admin@acme.test")
    messages = sent_mail("admin@acme.test")
    assert len(messages) == before + 1
    assert "usage report" in messages[-1]["Subject"]
    assert not sent_mail("boss@example.test")  # "send me" goes to the caller only


def test_users_tab_banner_reactivates_in_one_click(new_page, live_server_port, dormant, django_db_blocker):
    acme, (_, gone) = dormant
    with django_db_blocker.unblock():
        connection.set_tenant(acme)
        services.dormancy_policy_update(enabled=True, after_days=30, warn_days_before=0, exempt_roles=["admin"])
        PolicyRun.objects.filter(day=timezone.now().date()).delete()
        services.dormancy_run()
        assert Membership.objects.get(pk=gone.pk).state == Membership.State.DEACTIVATED
        connection.set_schema_to_public()
    for width in (1366, 390):
        page = new_page({"width": width, "height": 900})
        log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
        page.goto(org_url("acme", live_server_port, "/org/dashboard/"))
        banner = page.get_by_role("region", name="Dormancy policy")
        expect(banner).to_contain_text("deactivated")
        assert no_horizontal_scroll(page) or width == 390  # the Users list's own width is not this page's
        if width == 390:
            screenshot(page, "users-dormancy-banner-390")
            break
        banner.get_by_role("button", name=f"Reactivate {gone.email}").click()
        expect(banner.locator("li", has_text=gone.email)).to_contain_text("Reactivated")
        screenshot(page, "users-dormancy-banner-1366")
    with django_db_blocker.unblock():
        connection.set_tenant(acme)
        assert Membership.objects.get(pk=gone.pk).state == Membership.State.JOINED
        connection.set_schema_to_public()
