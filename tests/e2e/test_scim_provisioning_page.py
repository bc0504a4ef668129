"""The Provisioning page in Chromium, at desktop and phone widths: an admin creates the token, copies
it once, reloads without making another (the identity provider's copy keeps working), and rotates
it only after saying so, in the dialog or, without JavaScript, on the confirm step."""

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection
from playwright.sync_api import expect

from accounts.models import ApiKey
from orgdash.core.models import Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot
from tests.factories import make_member, make_user

pytestmark = pytest.mark.e2e

PAGE = "/org/dashboard/settings/provisioning/"


@pytest.fixture
def provisioning_admin(committed):
    """A dedicated acme admin; the SCIM tokens the test makes are removed afterwards."""
    acme = Organization.objects.get(slug="acme")
    connection.set_tenant(acme)
    user = make_user(email="provisioning-admin@example.com", password=PASSWORD)
    membership = make_member(user=user, role="admin")
    connection.set_schema_to_public()
    yield user.email
    connection.set_tenant(acme)
    ApiKey.objects.filter(kind=ApiKey.Kind.SCIM).delete()
    membership.delete()
    user.delete()
    connection.set_schema_to_public()


def scim_get(port: int, token: str, path: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/scim/v2/{path}",
        headers={"Host": f"acme.localhost:{port}", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the local test server)
        return response.status, json.loads(response.read())


def scim_refuses(port: int, token: str) -> bool:
    with pytest.raises(urllib.error.HTTPError) as refused:
        scim_get(port, token, "Users")
    return refused.value.code == 401


def scim_tokens() -> list[tuple[int, bool]]:
    """(id, live) of acme's SCIM tokens, oldest first, as the live server committed them."""
    connection.set_tenant(Organization.objects.get(slug="acme"))
    try:
        return [(key.pk, key.revoked_at is None) for key in ApiKey.objects.filter(kind=ApiKey.Kind.SCIM).order_by("id")]
    finally:
        connection.set_schema_to_public()


@pytest.mark.parametrize("width", [1366, 390])
def test_admin_creates_reloads_and_rotates_the_scim_token(new_page, live_server_port, provisioning_admin, width):
    page = new_page({"width": width, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server_port, "acme", provisioning_admin, PASSWORD)
    page.goto(org_url("acme", live_server_port, PAGE))
    base_url = page.get_by_label("SCIM base URL")
    assert base_url.input_value() == org_url("acme", live_server_port, "/scim/v2")

    page.get_by_role("button", name="Create token").click()
    secret_box = page.get_by_label("New SCIM token")
    expect(secret_box).to_be_focused()  # a phone shows the secret first
    expect(secret_box).to_be_in_viewport()
    assert page.url == org_url("acme", live_server_port, PAGE)  # the post was redirected
    token = secret_box.input_value()
    assert token.startswith("odk_")
    # Nothing spills sideways at this width: the token and URL boxes fit the viewport.
    for box in (secret_box.bounding_box(), base_url.bounding_box()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"scim-provisioning-{width}")
    status, body = scim_get(live_server_port, token, "ServiceProviderConfig")
    assert status == 200 and body["patch"]["supported"] is True
    [(first_id, live)] = scim_tokens()
    assert live

    # Reload, back and forward: the secret is gone, no token is made, the pasted one still works.
    page.reload()
    expect(page.locator("#scim-token-status")).to_contain_text("last used")
    assert page.locator("#scim-new-token").count() == 0
    page.go_back()
    page.go_forward()
    assert page.locator("#scim-new-token").count() == 0
    assert scim_tokens() == [(first_id, True)]
    assert scim_get(live_server_port, token, "Users")[0] == 200

    # Rotating asks first, naming the consequence; keeping the token changes nothing.
    page.get_by_role("button", name="Rotate token").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("stops working at once")
    expect(dialog).to_contain_text("identity provider is given the new token")
    expect(page.locator("#confirm-cancel")).to_be_focused()
    screenshot(page, f"scim-provisioning-rotate-dialog-{width}")
    page.locator("#confirm-cancel").click()
    expect(dialog).to_be_hidden()
    assert scim_tokens() == [(first_id, True)]
    assert scim_get(live_server_port, token, "Users")[0] == 200

    page.get_by_role("button", name="Rotate token").click()
    page.locator("#confirm-ok").click()
    expect(secret_box).to_be_focused()
    rotated = secret_box.input_value()
    assert rotated.startswith("odk_") and rotated != token
    expect(page.locator("#scim-new-token-box")).to_contain_text("The previous token has stopped working")
    assert scim_refuses(live_server_port, token)
    assert scim_get(live_server_port, rotated, "Users")[0] == 200
    page.reload()
    assert page.locator("#scim-new-token").count() == 0
    assert [live for _, live in scim_tokens()] == [False, True]
    assert errors == []


@pytest.mark.usefixtures("new_page")  # for its clean log-in throttle
def test_without_javascript_rotating_goes_through_the_confirm_step(browser, live_server_port, provisioning_admin):
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        log_in(page, live_server_port, "acme", provisioning_admin, PASSWORD)
        page.goto(org_url("acme", live_server_port, PAGE))
        page.get_by_role("button", name="Create token").click()
        token = page.get_by_label("New SCIM token").input_value()
        expect(page.get_by_label("New SCIM token")).to_be_focused()  # autofocus, no script needed
        page.reload()
        assert page.locator("#scim-new-token").count() == 0

        page.get_by_role("button", name="Rotate token").click()
        step = page.locator("#scim-confirm")
        expect(step).to_contain_text("stops working at once")
        expect(step).to_contain_text("identity provider is given the new token")
        assert scim_get(live_server_port, token, "Users")[0] == 200  # asking changed nothing
        screenshot(page, "scim-provisioning-confirm-step-390")
        page.get_by_role("link", name="Keep the current token").click()
        assert page.locator("#scim-confirm").count() == 0
        assert scim_get(live_server_port, token, "Users")[0] == 200

        page.get_by_role("button", name="Rotate token").click()
        page.locator("#scim-rotate-confirm").click()
        rotated = page.get_by_label("New SCIM token").input_value()
        assert rotated != token and scim_refuses(live_server_port, token)
        assert scim_get(live_server_port, rotated, "Users")[0] == 200
    finally:
        context.close()
