"""The Provisioning page in Chromium, at desktop and phone widths: an admin creates the token, copies
it once, and the identity provider's first call with it works."""

import json
import urllib.request

import pytest
from django.db import connection

from accounts.models import ApiKey
from orgdash.core.models import Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot
from tests.factories import make_member, make_user

pytestmark = pytest.mark.e2e


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


@pytest.mark.parametrize("width", [1366, 390])
def test_admin_creates_copies_and_rotates_the_scim_token(new_page, live_server_port, provisioning_admin, width):
    page = new_page({"width": width, "height": 900})
    log_in(page, live_server_port, "acme", provisioning_admin, PASSWORD)
    page.goto(org_url("acme", live_server_port, "/org/dashboard/settings/provisioning/"))
    base_url = page.locator("#scim-base-url")
    assert base_url.input_value() == org_url("acme", live_server_port, "/scim/v2")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#scim-new-token").input_value()
    assert token.startswith("odk_")
    # Nothing spills sideways at this width: the token and URL boxes fit the viewport.
    for box in (page.locator("#scim-new-token").bounding_box(), base_url.bounding_box()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"scim-provisioning-{width}")
    status, body = scim_get(live_server_port, token, "ServiceProviderConfig")
    assert status == 200 and body["patch"]["supported"] is True

    page.goto(org_url("acme", live_server_port, "/org/dashboard/settings/provisioning/"))
    assert page.locator("#scim-new-token").count() == 0  # shown once
    assert "last used" in page.locator("#scim-token-status").inner_text()
    page.get_by_role("button", name="Rotate token").click()
    assert page.locator("#scim-new-token").input_value() != token
    with pytest.raises(urllib.error.HTTPError) as refused:
        scim_get(live_server_port, token, "Users")
    assert refused.value.code == 401
