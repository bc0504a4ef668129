"""An admin signs in and sees the tabs; members are refused; nothing crosses an org boundary."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot, submit_log_in


def test_admin_logs_in_and_sees_the_dashboard_tabs(page, live_server_port):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    assert page.url == org_url("acme", live_server_port, "/org/dashboard/")
    tabs = page.get_by_role("navigation", name="Dashboard")
    expect(tabs.get_by_role("link", name="Users")).to_have_attribute("aria-current", "page")
    tabs.get_by_role("link", name="Activity").click()
    expect(page).to_have_url(org_url("acme", live_server_port, "/org/dashboard/activity/"))
    expect(tabs.get_by_role("link", name="Activity")).to_have_attribute("aria-current", "page")
    screenshot(page, "dashboard-login")


def test_member_gets_403(page, live_server_port):
    log_in(page, live_server_port, "acme", "member@acme.test", PASSWORD)
    response = page.goto(org_url("acme", live_server_port, "/org/dashboard/"))
    assert response.status == 403
    expect(page.get_by_role("heading", name="Access denied")).to_be_visible()


def test_acme_admin_session_is_refused_at_globex(page, live_server_port):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    acme_cookies = page.context.cookies(org_url("acme", live_server_port))
    # Copy the acme session cookie onto the globex host, as an attacker would try.
    page.context.add_cookies(
        [{**c, "domain": f"globex.{c['domain'].split('.', 1)[1]}"} for c in acme_cookies if c["name"] == "sessionid"]
    )
    page.goto(org_url("globex", live_server_port, "/org/dashboard/"))
    expect(page).to_have_url(org_url("globex", live_server_port, "/accounts/login/?next=/org/dashboard/"))


def test_user_of_acme_cannot_log_in_at_globex(page, live_server_port):
    submit_log_in(page, live_server_port, "globex", "admin@acme.test", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("do not match an account of this organization")
    assert "/accounts/login/" in page.url
