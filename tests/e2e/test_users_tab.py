"""The Users tab in Chromium against the live server: the list, its sorting, tooltip, search,
filters and pagination, the invite flow end to end, row actions, CSV export and access rules.

Every test writes its own people into acme (committed, so the live server sees them) under a unique
tag in their e-mail addresses, searches for that tag where it needs an exact list, and removes
them afterwards.
"""

import csv
import io
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts import services
from accounts.models import Membership, Role
from orgdash.core.models import Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS, log_in, org_url, screenshot, sent_mail
from tests.factories import make_member, make_pending_invite, make_user

CSV_HEADER = "username,name,email,role,status,last_active,added,days_active,invited_by,deactivated_at"
EN_DASH = "\u2013"  # the pager reads "1 to 50 of 57" with an en dash


class People:
    """Writes committed people into acme for one test; ``cleanup`` removes everyone with the tag."""

    def __init__(self):
        with schema_context("public"):
            self.org = Organization.objects.get(slug="acme")
        self.tag = uuid.uuid4().hex[:10]

    def email(self, local: str) -> str:
        return f"{local}.{self.tag}@example.test"

    def member(self, local: str, name: str, *, role=Role.MEMBER, status="active", **fields) -> Membership:
        now = timezone.now()
        connection.set_tenant(self.org)
        user = make_user(email=self.email(local), name=name)
        if status == "active":
            fields.setdefault("last_active", now - timedelta(hours=5))
            fields.setdefault("days_active", 12)
        elif status == "inactive":
            fields.setdefault("created_at", now - timedelta(days=800))
            fields.setdefault("last_active", now - timedelta(days=400))
            fields.setdefault("days_active", 30)
        elif status == "deactivated":
            fields.setdefault("state", Membership.State.DEACTIVATED)
            fields.setdefault("deactivated_at", now - timedelta(days=2))
        membership = make_member(role=role, user=user, **fields)
        connection.set_schema_to_public()
        return membership

    def invite(self, local: str, *, role=Role.MEMBER) -> Membership:
        connection.set_tenant(self.org)
        membership = make_pending_invite(email=self.email(local), role=role)
        connection.set_schema_to_public()
        return membership

    def real_invite(self, local: str) -> Membership:
        """A pending invite with its link, as the invite service makes it."""
        connection.set_tenant(self.org)
        admin = get_user_model().objects.get(email="admin@acme.test")
        result = services.invite_create(emails=[self.email(local)], role=Role.MEMBER, actor=admin)
        connection.set_schema_to_public()
        return result.invited[0]

    def membership(self, email: str) -> Membership | None:
        connection.set_tenant(self.org)
        try:
            return Membership.objects.filter(email__iexact=email).first()
        finally:
            connection.set_schema_to_public()

    def cleanup(self):
        connection.set_tenant(self.org)  # the user delete looks for memberships through the org's schema
        Membership.objects.filter(email__icontains=self.tag).delete()
        get_user_model().objects.filter(email__icontains=self.tag).delete()
        connection.set_schema_to_public()


@pytest.fixture
def people(committed):
    made = People()
    yield made
    made.cleanup()


@pytest.fixture
def admin_page(page, live_server_port):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    return page


def users_url(port: int, query: str = "") -> str:
    return org_url("acme", port, "/org/dashboard/" + (f"?{query}" if query else ""))


def open_users(page, port: int, query: str = ""):
    page.goto(users_url(port, query))
    expect(page.locator("#users-rows")).to_have_attribute("aria-busy", "false")


def rows(page):
    return page.locator("#users-rows tr.user-row")


def row_of(page, email: str):
    return rows(page).filter(has=page.locator(".td-email", has_text=email))


def badges(page):
    return page.locator("#users-rows tr.user-row .badge")


def fetch_status(page, path: str) -> int:
    """The status of a same-origin request made by the page itself (with its cookies)."""
    return page.evaluate("async (path) => (await fetch(path, {credentials: 'same-origin'})).status", path)


def header(page, name: str):
    return page.get_by_role("columnheader", name=name)


# --- Sorting, tooltip, search, filters, pagination ---------------------------------------------


def test_last_active_header_sorts_by_status_and_back(admin_page, live_server_port, people):
    page = admin_page
    # Created in an order (ids ascending) that is neither the status order nor its reverse.
    people.member("dee", "Dee Deactivated", status="deactivated", last_active=timezone.now() - timedelta(days=1))
    people.member("ian", "Ian Inactive", status="inactive")
    people.member("ada", "Ada Active", status="active")
    people.invite("pat")
    people.member("amy", "Amy Active", status="active", last_active=timezone.now() - timedelta(days=3))

    open_users(page, live_server_port, f"search={people.tag}")
    # Default order: last active, most recent first, never-active last.
    expect(badges(page)).to_have_text(["Active", "Deactivated", "Active", "-", "Invite pending"])
    expect(header(page, "Last Active")).to_have_attribute("aria-sort", "descending")

    header(page, "Last Active").get_by_role("button").click()
    expect(badges(page)).to_have_text(["Invite pending", "Active", "Active", "-", "Deactivated"])
    expect(page).to_have_url(re.compile(r"ordering=status(&|$)"))
    expect(header(page, "Last Active")).to_have_attribute("aria-sort", "ascending")

    header(page, "Last Active").get_by_role("button").click()
    expect(badges(page)).to_have_text(["Deactivated", "-", "Active", "Active", "Invite pending"])
    expect(page).to_have_url(re.compile(r"ordering=-status(&|$)"))
    expect(header(page, "Last Active")).to_have_attribute("aria-sort", "descending")

    page.reload()
    expect(badges(page)).to_have_text(["Deactivated", "-", "Active", "Active", "Invite pending"])
    expect(header(page, "Last Active")).to_have_attribute("aria-sort", "descending")

    # Other columns sort too, shown in the header.
    header(page, "Name").get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"ordering=name(&|$)"))
    expect(header(page, "Name")).to_have_attribute("aria-sort", "ascending")
    expect(header(page, "Last Active")).to_have_attribute("aria-sort", "none")
    expect(rows(page).locator(".person-name")).to_have_text(
        ["Ada Active", "Amy Active", "Dee Deactivated", "Ian Inactive"]
    )
    header(page, "Days active").get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"ordering=-days_active(&|$)"))
    expect(rows(page).first.locator(".td-days")).to_have_text("30")

    # The sort menu follows the headers and reaches every order, the default one included (the
    # header sorts by status), as on a phone, where the headers are hidden.
    sort = page.get_by_label("Sort")
    expect(sort).to_have_value("-days_active")
    sort.select_option(label="Last active, most recent first")
    expect(badges(page)).to_have_text(["Active", "Deactivated", "Active", "-", "Invite pending"])
    expect(page).not_to_have_url(re.compile(r"ordering="))
    expect(header(page, "Last Active")).to_have_attribute("aria-sort", "descending")
    sort.select_option(label="Name, Z to A")
    expect(page).to_have_url(re.compile(r"ordering=-name(&|$)"))
    expect(header(page, "Name")).to_have_attribute("aria-sort", "descending")
    expect(rows(page).locator(".person-name")).to_have_text(
        ["Ian Inactive", "Dee Deactivated", "Amy Active", "Ada Active"]
    )
    page.go_back()
    expect(sort).to_have_value("-last_active")


def test_tooltip_shows_added_days_and_last_active(admin_page, live_server_port, people):
    page = admin_page
    added = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    last_active = (timezone.now() - timedelta(days=3)).replace(second=0, microsecond=0)
    known = people.member("kim", "Kim Known", created_at=added, last_active=last_active, days_active=42)
    people.invite("nia")

    open_users(page, live_server_port, f"search={people.tag}")
    row = row_of(page, known.email)
    expect(row.locator(".badge")).to_have_text("Active")

    row.locator(".td-status .badge").hover()
    tooltip = page.get_by_role("tooltip")
    expect(tooltip).to_be_visible()
    exact = last_active.strftime("%Y-%m-%d %H:%M")
    expect(tooltip).to_have_text(
        re.compile(rf"Added Mar 14, 2025\s*42 days active\s*Last active 3 days ago \({exact} UTC\)")
    )

    # Keyboard: focusing the cell shows the same tooltip, tied to it by aria-describedby.
    page.mouse.move(0, 0)
    expect(page.get_by_role("tooltip")).to_have_count(0)
    trigger = row.locator(".status-trigger")
    trigger.focus()
    expect(tooltip).to_be_visible()
    assert trigger.get_attribute("aria-describedby") == tooltip.get_attribute("id")
    page.keyboard.press("Escape")  # dismissible without moving focus
    expect(page.get_by_role("tooltip")).to_have_count(0)

    pending = row_of(page, people.email("nia"))
    pending.locator(".status-trigger").focus()
    expect(page.get_by_role("tooltip")).to_contain_text("Never active")


def test_search_and_filters_narrow_the_list_and_survive_reload(admin_page, live_server_port, people):
    page = admin_page
    alice = people.member("alice", "Alice Member", status="active")
    people.member("bob", "Bob Viewer", role=Role.VIEWER, status="active")
    carol = people.member("carol", "Carol Gone", status="deactivated")
    people.invite("dave")
    open_users(page, live_server_port)

    page.get_by_label("Search users").fill(people.tag)  # debounced: one request once typing stops
    expect(rows(page)).to_have_count(4)
    expect(page).to_have_url(re.compile(rf"search={people.tag}"))
    chips = page.get_by_role("group", name="Filter by status")

    def count_of(label: str):
        return chips.get_by_role("button", name=re.compile(rf"^{label}")).locator(".chip-count")

    expect(count_of("All")).to_have_text("4")
    expect(count_of("Active")).to_have_text("2")
    expect(count_of("Invite pending")).to_have_text("1")
    expect(count_of("Inactive")).to_have_text("0")
    expect(count_of("Deactivated")).to_have_text("1")

    page.get_by_label("Role", exact=True).select_option("member")
    expect(rows(page)).to_have_count(3)
    expect(count_of("Active")).to_have_text("1")
    expect(count_of("All")).to_have_text("3")

    chips.get_by_role("button", name=re.compile(r"^Active")).click()
    chips.get_by_role("button", name=re.compile(r"^Deactivated")).click()
    expect(rows(page).locator(".td-email")).to_have_text([alice.email, carol.email])
    expect(chips.get_by_role("button", name=re.compile(r"^Active"))).to_have_attribute("aria-pressed", "true")
    expect(page).to_have_url(re.compile(r"status=active%2Cdeactivated|status=active,deactivated"))
    expect(page.locator("#users-range")).to_have_text(f"1{EN_DASH}2 of 2")

    page.reload()
    expect(rows(page).locator(".td-email")).to_have_text([alice.email, carol.email])
    expect(page.get_by_label("Search users")).to_have_value(people.tag)
    expect(page.get_by_label("Role", exact=True)).to_have_value("member")
    expect(chips.get_by_role("button", name=re.compile(r"^Deactivated"))).to_have_attribute("aria-pressed", "true")
    expect(chips.get_by_role("button", name=re.compile(r"^All"))).to_have_attribute("aria-pressed", "false")

    # Back undoes the last filter change.
    page.go_back()
    expect(rows(page).locator(".td-email")).to_have_text([alice.email])

    # Nobody matching: an empty state, not a blank table.
    page.get_by_label("Search users").fill(f"{people.tag}-nobody")
    expect(page.get_by_role("heading", name="No users match")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(page).to_have_url(users_url(live_server_port))
    expect(rows(page).first).to_be_visible()


def test_pagination_is_server_side_and_kept_in_the_url(admin_page, live_server_port, people):
    page = admin_page
    connection.set_tenant(people.org)
    Membership.objects.bulk_create(
        Membership(email=people.email(f"p{n:03d}"), state=Membership.State.INVITED, role=Role.MEMBER) for n in range(57)
    )
    connection.set_schema_to_public()

    open_users(page, live_server_port, f"search={people.tag}&ordering=email")
    expect(rows(page)).to_have_count(50)
    expect(page.locator("#users-range")).to_have_text(f"1{EN_DASH}50 of 57")
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    page.get_by_role("button", name="Next").click()
    expect(rows(page)).to_have_count(7)
    expect(page.locator("#users-range")).to_have_text(f"51{EN_DASH}57 of 57")
    expect(rows(page).first.locator(".td-email")).to_have_text(people.email("p050"))
    expect(page).to_have_url(re.compile(r"page=2"))
    page.reload()
    expect(page.locator("#users-range")).to_have_text(f"51{EN_DASH}57 of 57")
    expect(page.get_by_role("button", name="Next")).to_be_disabled()

    # A page past the end (the list shrank since the link was made) falls back to the first page.
    open_users(page, live_server_port, f"search={people.tag}&ordering=email&page=9")
    expect(page.locator("#users-range")).to_have_text(f"1{EN_DASH}50 of 57")
    expect(page).not_to_have_url(re.compile(r"page="))


# --- Invites ---------------------------------------------------------------------------------


def _wait_for_mail(to: str, count: int = 1, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sent_mail(to)
        if len(messages) >= count:
            return messages
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {to} within {timeout}s")


def _invite_link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://\S+/invite/[^/\s]+/", body)
    assert match, body
    return match.group(0)


def test_invite_two_people_who_accept_and_turn_active(admin_page, new_page, live_server_port, people):
    page = admin_page
    ann, ben = people.email("ann"), people.email("ben")
    open_users(page, live_server_port, f"search={people.tag}")
    expect(page.get_by_role("heading", name="No users match")).to_be_visible()

    page.get_by_role("button", name="Invite new user").click()
    dialog = page.get_by_role("dialog", name="Invite new users")
    expect(dialog).to_be_visible()
    emails = dialog.get_by_label("Email addresses")
    expect(emails).to_be_focused()

    # One bad address: the API refuses the whole request and names it; nothing is sent.
    emails.fill(f"{ann}, not-an-email\n{ben}")
    dialog.get_by_role("button", name="Send invites").click()
    errors = dialog.locator("#invite-email-errors")
    expect(errors).to_contain_text("not-an-email")
    expect(dialog.get_by_role("alert")).to_contain_text("not-an-email")
    expect(emails).to_have_attribute("aria-invalid", "true")
    assert people.membership(ann) is None

    # Two good ones plus an existing member (skipped, with the reason).
    emails.fill(f"{ann}, {ben} member@acme.test")
    dialog.get_by_label("Invite as").select_option("member")
    expect(errors).to_be_hidden()  # editing the addresses cleared the old errors
    dialog.get_by_role("button", name="Send invites").click()
    expect(dialog.get_by_role("heading", name="Invited 2 people")).to_be_visible()
    expect(dialog.locator(".summary-ok")).to_contain_text(ann)
    expect(dialog.locator(".summary-ok")).to_contain_text(ben)
    expect(dialog.locator(".summary-skipped")).to_contain_text("member@acme.test")
    expect(dialog.locator(".summary-skipped")).to_contain_text("already a member")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Invite new user")).to_be_focused()

    # The list switched to the new people (pending invites, newest first) under the same search.
    expect(page).to_have_url(re.compile(r"status=invite_pending.*ordering=-added"))
    expect(rows(page)).to_have_count(2)
    expect(row_of(page, ann).locator(".badge")).to_have_text("Invite pending")
    expect(row_of(page, ben).locator(".badge")).to_have_text("Invite pending")

    # Each got an e-mail with a single-use link; Ann accepts in her own browser.
    link = _invite_link(_wait_for_mail(ann)[0])
    assert link.startswith(org_url("acme", live_server_port, "/invite/"))
    _wait_for_mail(ben)
    invitee = new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name=re.compile("Join"))).to_be_visible()
    invitee.get_by_label("Your name").fill("Ann Newcomer")
    invitee.get_by_label("Password", exact=True).fill("a-long-unusual-passphrase-7")
    invitee.get_by_label("Password again").fill("a-long-unusual-passphrase-7")
    invitee.get_by_role("button", name="Create account and join").click()
    expect(invitee).to_have_url(org_url("acme", live_server_port, "/invite/joined/"))

    # The admin sees her turn Active, under her new name; Ben is still pending.
    open_users(page, live_server_port, f"search={people.tag}")
    expect(row_of(page, ann).locator(".badge")).to_have_text("Active")
    expect(row_of(page, ann).locator(".person-name")).to_have_text("Ann Newcomer")
    expect(row_of(page, ben).locator(".badge")).to_have_text("Invite pending")

    # The link worked once.
    again = new_page()
    response = again.goto(link)
    assert response.status == 404
    expect(again.get_by_role("heading", name="This invite link is not valid")).to_be_visible()


def test_invite_dialog_is_labelled_traps_focus_and_closes_with_escape(admin_page, live_server_port):
    page = admin_page
    open_users(page, live_server_port)
    opener = page.get_by_role("button", name="Invite new user")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Invite new users")
    expect(dialog).to_be_visible()
    for _ in range(8):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.get_by_label("Email addresses").focus()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


# --- Row actions -------------------------------------------------------------------------------


def _open_row_menu(page, email: str, name: str):
    row_of(page, email).get_by_role("button", name=f"Actions for {name}").click()
    return page.get_by_role("menu", name=f"Actions for {name}")


def test_deactivating_someone_logged_in_elsewhere_ends_their_access(admin_page, new_page, live_server_port, people):
    page = admin_page
    dana = people.member("dana", "Dana Second-Admin", role=Role.ADMIN, status="active")
    other = new_page()
    log_in(other, live_server_port, "acme", dana.email, PASSWORD)
    assert other.url == users_url(live_server_port)  # an admin: the dashboard opens
    assert fetch_status(other, "/api/v1/users/") == 200

    open_users(page, live_server_port, f"search={people.tag}")
    page.evaluate("window.__sameDocument = true")
    menu = _open_row_menu(page, dana.email, "Dana Second-Admin")
    menu.get_by_role("menuitem", name="Deactivate…").click()
    confirm = page.get_by_role("dialog", name=f"Deactivate Dana Second-Admin ({dana.email})?")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Deactivate", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Deactivated Dana Second-Admin")
    expect(row_of(page, dana.email).locator(".badge")).to_have_text("Deactivated")
    assert page.evaluate("window.__sameDocument === true")  # updated in place, no reload

    # Their very next request fails: the API refuses, the page sends them to log in.
    assert fetch_status(other, "/api/v1/users/") == 401
    other.goto(users_url(live_server_port))
    expect(other).to_have_url(re.compile(r"/accounts/login/"))

    # Reactivation restores the row in place.
    menu = _open_row_menu(page, dana.email, "Dana Second-Admin")
    menu.get_by_role("menuitem", name="Reactivate").click()
    expect(row_of(page, dana.email).locator(".badge")).to_have_text("Active")
    expect(page.get_by_role("status")).to_contain_text("Reactivated Dana Second-Admin")


def test_row_actions_change_role_resend_and_cancel_invites(admin_page, live_server_port, people):
    page = admin_page
    erin = people.member("erin", "Erin Member", status="active")
    invite = people.real_invite("fay")
    cancelled = people.real_invite("gus")
    open_users(page, live_server_port, f"search={people.tag}&ordering=email")
    expect(rows(page)).to_have_count(3)

    # Change role, from the keyboard: open with ArrowDown (on the harmless "View details"),
    # move, choose with Enter, confirm.
    button = row_of(page, erin.email).get_by_role("button", name="Actions for Erin Member")
    button.focus()
    page.keyboard.press("ArrowDown")
    menu = page.get_by_role("menu", name="Actions for Erin Member")
    expect(menu.get_by_role("menuitemradio", name="Member")).to_have_attribute("aria-checked", "true")
    expect(menu.get_by_role("menuitem", name="View details")).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitemradio", name="Viewer")).to_be_focused()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name=f"Make Erin Member ({erin.email}) viewer?")
    expect(confirm.get_by_role("button", name="Keep role")).to_be_focused()
    with (
        page.expect_request(lambda r: r.method == "PATCH") as patch_request,
        page.expect_request(lambda r: "/api/v1/users/counts/" in r.url) as counts_request,
    ):
        confirm.get_by_role("button", name="Make viewer").click()
    # The change is the admin's own request; the counts refresh that follows is the page's.
    assert "x-orgdash-background" not in patch_request.value.headers
    assert patch_request.value.headers.get("x-csrftoken")
    assert counts_request.value.headers.get("x-orgdash-background") == "1"
    expect(row_of(page, erin.email).locator(".td-role")).to_have_text("Viewer")
    expect(page.get_by_role("status")).to_contain_text("Erin Member is now a viewer")
    assert people.membership(erin.email).role == Role.VIEWER
    # Escape closes a menu and gives focus back to its button.
    button = row_of(page, erin.email).get_by_role("button", name="Actions for Erin Member")
    button.press("Enter")
    expect(page.get_by_role("menu")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(button).to_be_focused()

    # Resend: a new e-mail with a new link.
    menu = _open_row_menu(page, invite.email, invite.email)
    menu.get_by_role("menuitem", name="Resend invite").click()
    expect(page.get_by_role("status")).to_contain_text(f"Sent a new invite to {invite.email}")
    link = _invite_link(_wait_for_mail(invite.email)[-1])
    assert "/invite/" in link

    # Cancel (confirmed): the row goes away and the count follows.
    menu = _open_row_menu(page, cancelled.email, cancelled.email)
    menu.get_by_role("menuitem", name="Cancel invite…").click()
    confirm = page.get_by_role("dialog", name=f"Cancel the invite for {cancelled.email}?")
    confirm.get_by_role("button", name="Cancel invite").click()
    expect(row_of(page, cancelled.email)).to_have_count(0)
    expect(page.locator("#users-range")).to_have_text(f"1{EN_DASH}2 of 2")
    expect(page.get_by_role("status")).to_contain_text(f"Cancelled the invite for {cancelled.email}")
    assert people.membership(cancelled.email) is None


def test_an_admin_who_steps_down_leaves_the_dashboard_for_their_home(page, live_server_port, people):
    lou = people.member("lou", "Lou Leaving", role=Role.ADMIN, status="active")
    log_in(page, live_server_port, "acme", lou.email, PASSWORD)
    open_users(page, live_server_port, f"search={people.tag}")
    menu = _open_row_menu(page, lou.email, "Lou Leaving")
    menu.get_by_role("menuitemradio", name="Member").click()
    page.get_by_role("dialog", name="Make yourself member?").get_by_role("button", name="Make me member").click()
    # No longer an admin: not a dashboard whose every next action would be refused.
    expect(page).to_have_url(org_url("acme", live_server_port, "/"))
    expect(page.get_by_role("heading", name=re.compile("You are signed in to"))).to_be_visible()
    assert people.membership(lou.email).role == Role.MEMBER


def test_refused_action_shows_why(admin_page, live_server_port, committed):
    """The last active admin cannot demote themselves: the API's 409 message is shown."""
    page = admin_page
    with schema_context("acme"):
        admins = Membership.objects.filter(role=Role.ADMIN, state=Membership.State.JOINED)
        assert list(admins.values_list("email", flat=True)) == ["admin@acme.test"]
    open_users(page, live_server_port, "search=admin@acme.test")
    try:
        menu = _open_row_menu(page, "admin@acme.test", "Admin")
        menu.get_by_role("menuitemradio", name="Member").click()
        page.get_by_role("dialog", name="Make yourself member?").get_by_role("button", name="Make me member").click()
        expect(page.get_by_role("alert").filter(has_text=services.LAST_ADMIN_MESSAGE)).to_be_visible()
        expect(row_of(page, "admin@acme.test").locator(".td-role")).to_have_text("Admin")
    finally:
        with schema_context("acme"):
            Membership.objects.filter(email="admin@acme.test").update(role=Role.ADMIN)


# --- Export, access, look ----------------------------------------------------------------------


def test_export_csv_downloads_the_filtered_list(admin_page, live_server_port, people):
    page = admin_page
    people.member("hal", "Hal Active", status="active")
    people.member("ivy", "Ivy Inactive", status="inactive")
    people.member("jon", "Jon Gone", status="deactivated")
    people.member("kay", "Kay Viewer", role=Role.VIEWER, status="active")
    people.invite("lou")
    open_users(page, live_server_port, f"search={people.tag}&status=active,inactive&role=member&ordering=-name")
    listed = rows(page).locator(".td-email")
    expect(listed).to_have_count(2)

    more = page.get_by_role("button", name="More actions")
    more.click()
    with page.expect_download() as download_info:
        page.get_by_role("menuitem", name="Export as CSV").click()
    download = download_info.value
    assert re.fullmatch(r"acme-users-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == CSV_HEADER
    exported = list(csv.DictReader(io.StringIO(text)))
    # The same people in the same order as on screen.
    assert [r["email"] for r in exported] == listed.all_inner_texts()
    assert [r["name"] for r in exported] == ["Ivy Inactive", "Hal Active"]
    assert {r["status"] for r in exported} == {"active", "inactive"}
    assert {r["role"] for r in exported} == {"member"}


def test_export_menu_works_from_the_keyboard(admin_page, live_server_port):
    page = admin_page
    open_users(page, live_server_port, "status=active")
    more = page.get_by_role("button", name="More actions")
    expect(more).to_have_attribute("aria-haspopup", "menu")
    more.focus()
    page.keyboard.press("Enter")
    item = page.get_by_role("menuitem", name="Export as CSV")
    expect(item).to_be_focused()
    expect(more).to_have_attribute("aria-expanded", "true")
    assert item.get_attribute("href").endswith("/api/v1/users/export.csv?status=active")
    page.keyboard.press("Escape")
    expect(item).to_be_hidden()
    expect(more).to_be_focused()


def test_member_sees_403(page, live_server_port):
    log_in(page, live_server_port, "acme", "member@acme.test", PASSWORD)
    response = page.goto(users_url(live_server_port))
    assert response.status == 403
    expect(page.get_by_role("heading", name="Access denied")).to_be_visible()
    assert fetch_status(page, "/api/v1/users/") == 403


def test_names_are_shown_as_text_never_as_markup(admin_page, live_server_port, people):
    page = admin_page
    hostile = people.member("mal", '<img src=x id=injected> "Mal" & Co', status="active")
    open_users(page, live_server_port, f"search={people.tag}")
    expect(row_of(page, hostile.email).locator(".person-name")).to_have_text('<img src=x id=injected> "Mal" & Co')
    expect(page.locator("#injected")).to_have_count(0)


def test_load_errors_are_shown_with_a_retry(admin_page, live_server_port):
    page = admin_page
    page.route("**/api/v1/users/?*", lambda route: route.fulfill(status=500, body="boom"))
    page.goto(users_url(live_server_port))
    alert = page.get_by_role("alert").filter(has_text="Could not load users")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("(500)")
    page.unroute("**/api/v1/users/?*")
    alert.get_by_role("button", name="Try again").click()
    expect(alert).to_be_hidden()
    expect(row_of(page, "admin@acme.test")).to_be_visible()


def test_a_new_org_shows_an_invitation_to_invite(page, live_server_port):
    log_in(page, live_server_port, "globex", "admin@globex.test", PASSWORD)
    expect(page.get_by_role("heading", name="It\u2019s just you so far")).to_be_visible()
    expect(rows(page)).to_have_count(1)


CLS_OBSERVER = """
window.__layoutShift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__layoutShift += entry.value;
}).observe({ type: "layout-shift", buffered: true });
"""


def _demo_people(people):
    now = timezone.now()
    people.member("jane", "Jane Doe", role=Role.ADMIN, last_active=now - timedelta(minutes=20), days_active=311)
    people.member("sam", "Sam Okafor", last_active=now - timedelta(hours=3), days_active=87)
    people.member("priya", "Priya Raman", role=Role.VIEWER, last_active=now - timedelta(days=2), days_active=46)
    people.member("wei", "Wei Chen", last_active=now - timedelta(days=9), days_active=128)
    people.member("lena", "Lena Müller", status="inactive")
    people.member("tom", "Tom Brown", status="deactivated", last_active=now - timedelta(days=40), days_active=64)
    people.member("noor", "Noor Haddad", last_active=now - timedelta(days=1), days_active=203)
    people.member("kenji", "Kenji Nakamura", role=Role.VIEWER, status="inactive")
    people.invite("maria")
    people.invite("alex", role=Role.VIEWER)
    people.member("olu", "Olu Adeyemi", last_active=now - timedelta(days=15), days_active=19)
    people.member("ana", "Ana García", last_active=now - timedelta(hours=30), days_active=240)


@pytest.mark.parametrize(("width", "name"), [(1366, "users-tab"), (800, "users-tab-tablet")])
def test_screenshots_and_layout(new_page, live_server_port, people, width, name):
    _demo_people(people)
    page = new_page(viewport={"width": width, "height": 900})
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.add_init_script(CLS_OBSERVER)
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    response = page.goto(users_url(live_server_port))
    expect(rows(page)).to_have_count(15)
    expect(page.locator("#users-range")).to_have_text(f"1{EN_DASH}15 of 15")

    # No layout shift while loading; a strict CSP and nothing it had to block.
    assert page.evaluate("window.__layoutShift") < 0.02
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert console_errors == []
    # The page marks when its first rows are shown (how fast is measured by `manage.py benchmark`).
    assert page.evaluate("performance.getEntriesByName('orgdash:users-first-rows').length") == 1

    # Readable at this width: no horizontal scrolling of the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Every column stays at every width (a narrow table scrolls inside its card).
    for name_ in ("Name", "Email", "Role", "Last Active", "Days active"):
        expect(header(page, name_)).to_be_visible()
    page.get_by_role("row").filter(has_text="Priya Raman").locator(".td-status .badge").hover()
    tooltip = page.get_by_role("tooltip")
    expect(tooltip).to_be_visible()
    box = tooltip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width  # the tooltip fits on screen too
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, name)
    if width >= 1000:
        page.mouse.move(0, 0)
        page.get_by_role("button", name="Invite new user").click()
        dialog = page.get_by_role("dialog", name="Invite new users")
        dialog.get_by_label("Email addresses").fill("ada.lovelace@example.test, grace.hopper@example.test")
        dialog.get_by_label("Invite as").select_option("viewer")
        # The viewport only: a modal's backdrop covers the viewport, not the whole page.
        page.screenshot(path=str(ARTIFACTS / "users-tab-invite-dialog.png"))
