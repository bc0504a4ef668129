"""Hosts, tenancy and org-scoped login through the real middleware stack."""

from django.conf import settings

from tests.conftest import PASSWORD, login


def test_unknown_host_answers_404(db, client):
    response = client.get("/accounts/login/", HTTP_HOST=f"nope.{settings.ORGDASH_BASE_DOMAIN}")
    assert response.status_code == 404


def test_login_page_on_org_host(acme_client):
    response = acme_client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in to Acme" in response.content


def test_anonymous_dashboard_redirects_to_login(acme_client):
    response = acme_client.get("/org/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/org/dashboard/")


def test_admin_logs_in_and_sees_both_tabs(acme_client):
    response = login(acme_client, "admin@acme.test")
    assert response.status_code == 302
    assert response["Location"] == "/org/dashboard/"
    users_tab = acme_client.get("/org/dashboard/")
    activity_tab = acme_client.get("/org/dashboard/activity/")
    assert users_tab.status_code == 200 and activity_tab.status_code == 200
    for page in (users_tab, activity_tab):
        assert b'href="/org/dashboard/"' in page.content
        assert b'href="/org/dashboard/activity/"' in page.content


def test_member_and_viewer_get_403(acme_client):
    for email in ("member@acme.test", "viewer@acme.test"):
        acme_client.logout()
        assert login(acme_client, email).status_code == 302
        assert acme_client.get("/org/dashboard/").status_code == 403
        assert acme_client.get("/org/dashboard/activity/").status_code == 403


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(acme_client):
    response = login(acme_client, "admin@acme.test", "not-the-password")
    assert response.status_code == 200
    assert b"do not match an account of this organization" in response.content


def test_user_of_acme_cannot_log_in_at_globex(globex_client):
    response = login(globex_client, "admin@acme.test")
    assert response.status_code == 200
    assert b"do not match an account of this organization" in response.content
    assert "_auth_user_id" not in globex_client.session


def test_acme_session_is_refused_at_globex(acme_client, globex_client):
    assert login(acme_client, "admin@acme.test").status_code == 302
    cookie = acme_client.cookies[settings.SESSION_COOKIE_NAME].value
    globex_client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = globex_client.get("/org/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_support_staff_can_open_any_org_dashboard(acme_client, globex_client):
    for client in (acme_client, globex_client):
        assert login(client, "support@orgdash.test").status_code == 302
        assert client.get("/org/dashboard/").status_code == 200


def test_public_host_serves_admin_only_to_staff(public_client):
    assert public_client.get("/admin/").status_code == 302
    public_client.post("/admin/login/", {"username": "admin@acme.test", "password": PASSWORD})
    assert public_client.get("/admin/").status_code == 302
    public_client.post("/admin/login/", {"username": "support@orgdash.test", "password": PASSWORD})
    response = public_client.get("/admin/core/organization/")
    assert response.status_code == 200
    assert b"Acme" in response.content and b"Globex" in response.content


def test_healthz_reports_database_and_redis(acme_client):
    response = acme_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_members_land_on_their_own_page_not_a_403(acme_client):
    response = login(acme_client, "member@acme.test")
    assert response["Location"] == "/"
    page = acme_client.get("/")
    assert page.status_code == 200
    assert b"You are signed in to Acme" in page.content
    assert b"a member of Acme" in page.content


def test_front_page_sends_admins_to_the_dashboard_and_anonymous_to_login(acme_client):
    assert acme_client.get("/")["Location"].startswith("/accounts/login/")
    login(acme_client, "admin@acme.test")
    assert acme_client.get("/")["Location"] == "/org/dashboard/"
