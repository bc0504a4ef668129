"""Every dashboard page's scripts are native ES modules: a missing file, a wrong MIME type or an
import naming something a module does not export stops the whole page silently. An admin opens
each page at 1366 and 390 px and sees it working, with no script error."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url


@pytest.mark.parametrize("width", [1366, 390])
def test_every_page_runs_its_modules_without_a_script_error(new_page, live_server_port, width):
    page = new_page(viewport={"width": width, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    modules = []
    page.on(
        "response",
        lambda response: (
            response.url.endswith(".js")
            and "/static/" in response.url
            and modules.append((response.url, response.status, response.headers.get("content-type", "")))
        ),
    )
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    url = lambda path: org_url("acme", live_server_port, path)  # noqa: E731

    page.goto(url("/org/dashboard/"))
    expect(page.locator("#users-rows tr.user-row").first).to_be_visible()
    expect(page.locator("#status-chips [data-count-for='']")).to_have_text(re.compile(r"^\d+$"))
    person = page.locator("#users-rows a.person-link").first.get_attribute("href")

    page.goto(url("/org/dashboard/activity/"))
    expect(page.locator("[data-computed]")).to_contain_text(re.compile(r"computed"))

    page.goto(url(person))
    expect(page.locator("#calendar")).to_have_attribute("aria-busy", "false")

    page.goto(url("/accounts/profile/"))
    page.goto(url("/org/dashboard/settings/"))
    expect(page.locator("#preview-status")).not_to_have_text(re.compile(r"^$|Updating"))

    page.goto(url("/org/dashboard/audit/"))
    expect(page.locator("#audit-rows")).to_have_attribute("aria-busy", "false")

    assert errors == []
    loaded = {re.sub(r"^.*/static/", "", address) for address, _, _ in modules}
    assert {"orgdash/users.js", "orgdash/users/table.js", "orgdash/lib/api.js", "orgdash/lib/format.js"} <= loaded
    assert {"orgdash/activity.js", "orgdash/person.js", "orgdash/profile.js", "hygiene/settings.js"} <= loaded
    for address, status, content_type in modules:
        assert status in (200, 304) and content_type.startswith("text/javascript"), (address, status, content_type)
