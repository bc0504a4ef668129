"""People in Chromium: a person's page and calendar, bulk actions, self-service (profile, keys),
the 390 px card layout and the keyboard path through a row menu.

Each test writes its own committed people into acme under a unique tag and removes them after.
"""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import AuditEvent, Invite, Membership, Role
from activity.models import ActivityKind
from activity.services import activity_record_write
from tests.clock import clear_of_midnight
from tests.conftest import PASSWORD, host_of
from tests.e2e.conftest import log_in, org_url, screenshot
from tests.e2e.test_users_tab import People, open_users, row_of, rows


@pytest.fixture
def people(committed):
    made = People()
    yield made
    made.cleanup()


@pytest.fixture
def admin_page(page, live_server_port):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    return page


def _record(membership, day: dt.date, *kinds: ActivityKind) -> None:
    at = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    with schema_context("acme"):
        for kind in kinds:
            activity_record_write(schema="acme", membership_id=membership.pk, kinds=kind, at=at)


def _bearer_status(secret: str, path: str = "/api/v1/me/") -> int:
    return Client(HTTP_HOST=host_of("acme")).get(path, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code


def test_open_a_person_from_the_list_and_see_their_calendar_match_the_api(admin_page, live_server_port, people):
    page = admin_page
    clear_of_midnight(seconds=60)  # the server's calendar ends on the day the test laid the activity out from
    today = dt.datetime.now(dt.UTC).date()
    rae = people.member("rae", "Rae Calendar", last_active=None, days_active=0)
    # The calendar's cells run weekday by weekday: a Sunday comes after every other day in the
    # page, so the latest active day (not a Sunday) must be found by its date, not its place.
    eight_ago = today - dt.timedelta(days=8)
    sunday = eight_ago - dt.timedelta(days=(eight_ago.weekday() + 1) % 7)
    latest = today - dt.timedelta(days=1 if (today - dt.timedelta(days=1)).weekday() != 6 else 2)
    active_days = [today - dt.timedelta(days=40), sunday, latest]
    _record(rae, active_days[0], ActivityKind.LOGIN, ActivityKind.SDK)
    _record(rae, sunday, ActivityKind.PAGE_VIEW)
    _record(rae, latest, ActivityKind.API, ActivityKind.RUN_LOGGED, ActivityKind.LOGIN)

    open_users(page, live_server_port, f"search={people.tag}")
    row_of(page, rae.email).get_by_role("link", name="Rae Calendar").click()
    expect(page).to_have_url(org_url("acme", live_server_port, f"/org/dashboard/users/{rae.pk}/"))
    expect(page.get_by_role("heading", name=re.compile("Rae Calendar"))).to_be_visible()
    expect(page.locator("#calendar")).to_have_attribute("aria-busy", "false")

    api = page.evaluate("async (id) => (await fetch(`/api/v1/users/${id}/activity/?period=12m`)).json()", rae.pk)
    assert [day["date"] for day in api["days"]] == [day.isoformat() for day in active_days]
    shown = page.locator(".cal-day[data-date]:not([data-kinds=''])")
    expect(shown).to_have_count(len(api["days"]))
    assert sorted(cell.get_attribute("data-date") for cell in shown.all()) == [day["date"] for day in api["days"]]
    assert (
        page.locator(".cal-day[data-date]").count()
        == (dt.date.fromisoformat(api["end"]) - dt.date.fromisoformat(api["start"])).days + 1
    )

    # The day's kinds on hover ...
    day = (today - dt.timedelta(days=40)).isoformat()
    page.locator(f".cal-day[data-date='{day}']").hover()
    expect(page.locator("#calendar-tip")).to_contain_text("Log-in, SDK")
    # ... and on focus, moving with the arrow keys (one tab stop: the latest active day).
    last = page.locator(f".cal-day[data-date='{latest.isoformat()}']")
    expect(last).to_have_attribute("tabindex", "0")
    expect(page.locator(".cal-day[tabindex='0']")).to_have_count(1)
    last.focus()
    expect(page.locator("#calendar-tip")).to_contain_text("Log-in, Runs logged, API")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#calendar-tip")).to_contain_text("no activity")
    # End and Home: the calendar's last day (today) and first, whatever their weekday.
    page.keyboard.press("End")
    expect(page.locator(f".cal-day[data-date='{api['end']}']")).to_be_focused()
    page.keyboard.press("Home")
    expect(page.locator(f".cal-day[data-date='{api['start']}']")).to_be_focused()

    # Activity by kind and the text alternative say the same.
    expect(page.locator("#kinds li[data-kind='login']")).to_contain_text("2 days")
    expect(page.locator("#kinds li[data-kind='page_view']")).to_contain_text("1 day")
    page.get_by_text("Active days as a table").click()
    expect(page.locator("#calendar-table tbody tr")).to_have_count(3)
    # Details: last active exact and relative; history of what was done to them.
    expect(page.locator("#person-last-active")).to_contain_text("UTC")
    expect(page.locator("#person-last-active")).to_contain_text("ago")
    screenshot(page, "person-page")


def test_bulk_deactivate_skips_the_last_admin_and_audits_each_person(page, live_server_port, people):
    lead = people.member("lead", "Lea Lead", role=Role.ADMIN)
    mia = people.member("mia", "Mia Member")
    max_ = people.member("max", "Max Member")
    with schema_context("acme"):
        # Lea is the only admin for this test: the baseline admin steps down meanwhile.
        Membership.objects.filter(email="admin@acme.test").update(role=Role.MEMBER)
    try:
        log_in(page, live_server_port, "acme", lead.email, PASSWORD)
        open_users(page, live_server_port, f"search={people.tag}")
        expect(rows(page)).to_have_count(3)
        page.get_by_label("Select everyone on this page").check()
        bar = page.get_by_role("region", name="Selected people")
        expect(bar).to_contain_text("3 people selected")
        bar.get_by_role("button", name="Deactivate…").click()
        # Lea is among them: a bulk action never deactivates the person acting.
        confirm = page.get_by_role("dialog", name="Deactivate 2 people?")
        expect(confirm).to_contain_text("3 people are selected: 2 will change, 1 will be skipped (you")
        expect(confirm).to_contain_text("The last active admin is always kept")
        expect(confirm.get_by_role("button", name="Go back")).to_be_focused()
        confirm.get_by_role("button", name="Deactivate 2").click()

        result = page.get_by_role("dialog", name="Deactivated 2 people")
        expect(result.locator("#bulk-done")).to_contain_text(mia.email)
        expect(result.locator("#bulk-done")).to_contain_text(max_.email)
        skipped = result.locator("#bulk-skipped")
        expect(skipped).to_contain_text(lead.email)
        expect(skipped).to_contain_text("at least one active admin")
        result.get_by_role("button", name="Done").click()
        # The bulk bar is gone with the selection: focus goes on from where a new selection starts.
        expect(page.get_by_label("Select everyone on this page")).to_be_focused()
        expect(row_of(page, mia.email).locator(".badge")).to_have_text("Deactivated")
        expect(row_of(page, lead.email).locator(".badge")).to_have_text("Active")

        # One audit row per person changed, named in the audit log.
        page.goto(org_url("acme", live_server_port, "/org/dashboard/audit/"))
        page.get_by_label("Target").fill(people.tag)
        page.get_by_role("button", name="Apply").click()
        audit = page.locator("#audit-rows tr").filter(has_text="Deactivated").filter(has_text=people.tag)
        expect(audit).to_have_count(2)
        with schema_context("acme"):
            for person in (mia, max_):
                assert AuditEvent.objects.filter(action="membership.deactivate", target_membership=person).count() == 1
            assert not AuditEvent.objects.filter(action="membership.deactivate", target_membership=lead).exists()
    finally:
        with schema_context("acme"):
            Membership.objects.filter(email="admin@acme.test").update(role=Role.ADMIN)


def test_change_your_own_name_and_see_it_in_the_list(page, live_server_port, people):
    kit = people.member("kit", "Kit Before", role=Role.ADMIN)
    log_in(page, live_server_port, "acme", kit.email, PASSWORD)
    page.get_by_role("link", name=kit.email).click()  # the top bar leads to the profile
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    page.get_by_role("textbox", name="Name", exact=True).fill(f"Kit After {people.tag}")
    page.get_by_role("textbox", name="Username").fill(f"kit-{people.tag}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Your profile is saved")

    open_users(page, live_server_port, f"search=after {people.tag}")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).locator(".person-name")).to_have_text(f"Kit After {people.tag}")
    expect(rows(page).locator(".person-secondary")).to_have_text(f"@kit-{people.tag}")


def test_create_and_revoke_a_personal_key_and_watch_it_stop_working(page, live_server_port, people):
    sam = people.member("sam", "Sam Scripts")
    log_in(page, live_server_port, "acme", sam.email, PASSWORD)
    page.get_by_role("link", name="Your profile and API keys").click()
    page.get_by_label("Label").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    # The secret, shown once below the other forms, is where the page opens (no form takes focus).
    expect(page.locator("#new-key")).to_be_focused()
    secret = page.locator("#new-key-secret").inner_text().strip()
    assert len(secret) > 20
    assert _bearer_status(secret) == 200

    page.reload()  # the secret is shown once only (and a reload creates no second key)
    expect(page.locator("#new-key-secret")).to_have_count(0)
    key_row = page.locator("#profile-keys tbody tr").filter(has_text="laptop")
    expect(key_row).to_have_count(1)
    expect(page.locator("#profile-keys tbody tr")).to_have_count(1)
    assert secret not in page.content()

    key_row.get_by_role("button", name="Revoke…").click()
    confirm = page.get_by_role("dialog", name="Revoke the key “laptop”?")
    expect(confirm.get_by_role("button", name="Keep key")).to_be_focused()
    confirm.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked the key “laptop”")
    expect(page.locator("#profile-keys tbody tr").filter(has_text="laptop")).to_have_count(0)
    assert _bearer_status(secret) == 401


def test_390px_cards_with_every_action_reachable(new_page, live_server_port, people):
    ola = people.member("ola", "Ola Narrow")
    people.invite("pia")
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    open_users(page, live_server_port, f"search={people.tag}")
    expect(rows(page)).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    card = row_of(page, ola.email)
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    for cell in ("td-name", "td-email", "td-role", "td-status", "td-days"):
        cell_box = card.locator(f".{cell}").bounding_box()
        assert cell_box is not None and cell_box["x"] + cell_box["width"] <= 390, cell
    assert card.locator(".td-email").bounding_box()["y"] > card.locator(".td-name").bounding_box()["y"]
    expect(card.get_by_role("checkbox")).to_be_visible()
    expect(card.locator(".td-status")).to_contain_text("Active ·")
    screenshot(page, "users-tab-390")

    card.get_by_role("button", name="Actions for Ola Narrow").click()
    menu = page.get_by_role("menu", name="Actions for Ola Narrow")
    for item in ("View details", "Deactivate…"):
        target = menu.get_by_role("menuitem", name=item)
        expect(target).to_be_in_viewport()
    menu.get_by_role("menuitem", name="Deactivate…").click()
    page.get_by_role("dialog").get_by_role("button", name="Deactivate", exact=True).click()
    expect(row_of(page, ola.email).locator(".badge")).to_have_text("Deactivated")

    card.get_by_role("checkbox").check()
    bar = page.get_by_role("region", name="Selected people")
    for name in ("Deactivate…", "Reactivate…", "Change role…", "Resend invites…", "Cancel invites…"):
        expect(bar.get_by_role("button", name=name)).to_be_in_viewport()

    # The person page and the profile fit too, their actions in reach.
    page.goto(org_url("acme", live_server_port, f"/org/dashboard/users/{ola.pk}/"))
    expect(page.locator("#calendar")).to_have_attribute("aria-busy", "false")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()
    screenshot(page, "person-page-390")
    page.goto(org_url("acme", live_server_port, "/accounts/profile/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="Create key")).to_be_visible()
    # With keys (one label without a space to break at): the table scrolls in its own box.
    page.get_by_label("Label").fill("build-server-" * 6)
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key-secret")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.reload()
    expect(page.locator("#profile-keys tbody tr")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    scroller = page.locator(".table-scroll").filter(has=page.locator("#profile-keys"))
    assert scroller.bounding_box()["x"] + scroller.bounding_box()["width"] <= 390
    screenshot(page, "profile-390")


def test_keyboard_through_a_row_menu_never_changes_a_role_by_accident(admin_page, live_server_port, people):
    page = admin_page
    uma = people.member("uma", "Uma Keys")
    open_users(page, live_server_port, f"search={people.tag}")
    button = row_of(page, uma.email).get_by_role("button", name="Actions for Uma Keys")
    button.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Actions for Uma Keys")
    expect(menu.get_by_role("menuitem", name="View details")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitemradio", name="Admin")).to_be_focused()
    page.keyboard.press("Enter")  # chooses "Admin" ... which only asks
    confirm = page.get_by_role("dialog", name=f"Make Uma Keys ({uma.email}) admin?")
    expect(confirm.get_by_role("button", name="Keep role")).to_be_focused()
    page.keyboard.press("Enter")  # the second Enter keeps the role
    expect(confirm).to_be_hidden()
    expect(button).to_be_focused()
    expect(row_of(page, uma.email).locator(".td-role")).to_have_text("Member")
    assert people.membership(uma.email).role == Role.MEMBER
    with schema_context("acme"):
        assert not AuditEvent.objects.filter(action="membership.change_role", target_membership=uma).exists()


def test_800px_keeps_columns_and_the_audit_table_scrolls(new_page, live_server_port, people):
    people.member("vic", "Vic Tablet")
    page = new_page(viewport={"width": 800, "height": 900})
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    open_users(page, live_server_port, f"search={people.tag}")
    for name in ("Name", "Email", "Role", "Last Active", "Days active"):
        expect(page.get_by_role("columnheader", name=name)).to_be_visible()
    page.goto(org_url("acme", live_server_port, "/org/dashboard/audit/"))
    card = page.locator(".audit-card")
    # The rows arrive after the page: scroll only once they have widened the table.
    expect(page.locator("#audit-rows")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#audit-rows tr").first).to_be_visible()
    expect(card).to_have_css("overflow-x", "auto")
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    ip_header = page.get_by_role("columnheader", name="IP address")
    ip_header.scroll_into_view_if_needed()
    expect(ip_header).to_be_in_viewport()


def test_access_denied_offers_a_way_back_and_pages_have_a_favicon(page, live_server_port):
    log_in(page, live_server_port, "acme", "member@acme.test", PASSWORD)
    response = page.goto(org_url("acme", live_server_port, "/org/dashboard/"))
    assert response.status == 403
    page.get_by_role("link", name="Go to your home page").click()
    expect(page.get_by_role("heading", name=re.compile("signed in"))).to_be_visible()
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.evaluate("async (url) => (await fetch(url)).status", icon) == 200


def test_resend_all_expired_invites_and_the_expired_note_resends(admin_page, live_server_port, people):
    page = admin_page
    old = [people.real_invite("old1"), people.real_invite("old2"), people.real_invite("old3")]
    live = people.real_invite("live")
    with schema_context("acme"):
        Invite.objects.filter(membership__in=old).update(expires_at=timezone.now() - dt.timedelta(days=1))
        live_hash = Invite.objects.get(membership=live).token_hash

    open_users(page, live_server_port, f"search={people.tag}")
    # The note on one expired invite is itself the resend action.
    row_of(page, old[2].email).get_by_role("button", name=f"Invite expired: resend to {old[2].email}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Sent a new invite to {old[2].email}")

    page.get_by_role("button", name="More actions").click()
    page.get_by_role("menuitem", name="Resend all expired invites…").click()
    confirm = page.get_by_role("dialog", name=re.compile(r"Resend invites to \d+ (person|people)\?"))
    confirm.get_by_role("button", name=re.compile(r"^Resend \d+$")).click()
    done = page.get_by_role("dialog", name=re.compile("Sent new invites to")).locator("#bulk-done")
    expect(done).to_contain_text(old[0].email)
    expect(done).to_contain_text(old[1].email)
    expect(done).not_to_contain_text(live.email)
    with schema_context("acme"):
        for membership in old:
            assert Invite.objects.get(membership=membership).expires_at > timezone.now()
        assert Invite.objects.get(membership=live).token_hash == live_hash
