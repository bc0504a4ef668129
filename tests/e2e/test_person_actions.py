"""The person page's actions in Chromium: each one's confirmation is shown and focused where the
actions are; a cancelled invite's confirmation is a toast on the Users list, and Back to its page
says it is gone instead of showing live buttons from a cache."""

import re

import pytest
from playwright.sync_api import expect

from accounts.views_people import PERSON_GONE
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot
from tests.e2e.test_users_tab import People


@pytest.fixture
def people(committed):
    made = People()
    yield made
    made.cleanup()


@pytest.fixture
def admin_page(page, live_server_port):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    return page


def test_reactivate_shows_and_focuses_its_confirmation(admin_page, live_server_port, people):
    page = admin_page
    dee = people.member("dee", "Dee Back", status="deactivated")
    page.goto(org_url("acme", live_server_port, f"/org/dashboard/users/{dee.pk}/"))
    expect(page.locator("#person-ok")).to_be_hidden()

    page.get_by_role("button", name="Reactivate").click()
    status = page.get_by_role("status").filter(has_text="Reactivated")
    expect(status).to_have_text("Reactivated Dee Back; they are Active again.")
    expect(status).to_be_focused()
    expect(page.locator("#person-status")).to_have_text("Active")
    expect(page.get_by_role("button", name="Deactivate…")).to_be_visible()
    screenshot(page, "person-page-reactivated")

    # Asking first: keeping the person active changes nothing and says nothing new.
    page.get_by_role("button", name="Deactivate…").click()
    page.get_by_role("dialog").get_by_role("button", name="Keep active").click()
    expect(page.get_by_role("button", name="Deactivate…")).to_be_focused()
    expect(page.locator("#person-status")).to_have_text("Active")

    page.get_by_role("button", name="Deactivate…").click()
    page.get_by_role("dialog").get_by_role("button", name="Deactivate", exact=True).click()
    expect(page.locator("#person-ok")).to_have_text("Deactivated Dee Back.")
    expect(page.locator("#person-status")).to_have_text("Deactivated")


def test_the_role_already_held_is_said_with_an_article(admin_page, live_server_port, people):
    page = admin_page
    mo = people.member("mo", "Mo Same")
    page.goto(org_url("acme", live_server_port, f"/org/dashboard/users/{mo.pk}/"))
    page.get_by_role("button", name="Change role…").click()
    expect(page.locator("#person-error")).to_have_text(f"Mo Same ({mo.email}) is already a member.")
    expect(page.get_by_role("button", name="Change role…")).to_be_focused()

    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Change role…").click()
    page.get_by_role("dialog").get_by_role("button", name="Make viewer").click()
    expect(page.locator("#person-ok")).to_have_text("Mo Same is now a viewer.")


def test_cancel_an_invite_and_see_it_confirmed_on_the_users_list_and_gone_on_back(admin_page, live_server_port, people):
    page = admin_page
    ivy = people.invite("ivy")
    page.goto(org_url("acme", live_server_port, f"/org/dashboard/users/{ivy.pk}/"))
    page.get_by_role("button", name="Resend invite").click()
    expect(page.locator("#person-ok")).to_have_text(
        f"Sent a new invite to {ivy.email}. The previous link no longer works."
    )

    page.get_by_role("button", name="Cancel invite…").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel invite").click()
    expect(page).to_have_url(org_url("acme", live_server_port, "/org/dashboard/"))
    expect(page.locator("#toasts")).to_contain_text(f"Cancelled the invite for {ivy.email}.")
    expect(page.locator("#users-rows")).to_have_attribute("aria-busy", "false")
    screenshot(page, "users-tab-invite-cancelled")

    # Back: the invite's page is asked for again, not shown from a cache with live buttons.
    page.go_back()
    expect(page.get_by_role("alert")).to_have_text(PERSON_GONE)
    expect(page.get_by_role("button", name="Resend invite")).to_have_count(0)
    page.get_by_role("link", name=re.compile("Back to all users")).click()
    expect(page).to_have_url(org_url("acme", live_server_port, "/org/dashboard/"))


def test_without_javascript_deactivate_is_asked_on_a_step_of_the_page(browser, live_server_port, people):
    kit = people.member("kit", "Kit Noscript")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
        page.goto(org_url("acme", live_server_port, f"/org/dashboard/users/{kit.pk}/"))
        page.get_by_role("button", name="Deactivate…").click()
        step = page.get_by_role("alertdialog", name="Deactivate Kit Noscript?")
        expect(step).to_be_visible()
        expect(page.locator("#person-status")).to_have_text("Active")  # nothing done yet
        step.get_by_role("link", name="Keep active").click()
        expect(page.get_by_role("alertdialog")).to_have_count(0)
        expect(page.locator("#person-status")).to_have_text("Active")

        page.get_by_role("button", name="Deactivate…").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Deactivate").click()
        expect(page.locator("#person-ok")).to_have_text("Deactivated Kit Noscript.")
        expect(page.locator("#person-status")).to_have_text("Deactivated")
        screenshot(page, "person-page-no-script-390")
    finally:
        context.close()
