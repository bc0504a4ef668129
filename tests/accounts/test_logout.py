"""Logging out: a POST does it; the address opened in a browser asks first."""

import pytest

from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_opening_the_logout_address_asks_first_and_the_button_logs_out(acme_client):
    assert login(acme_client, "member@acme.test").status_code == 302

    page = acme_client.get("/accounts/logout/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Log out of Acme" in text and "member@acme.test" in text
    assert 'method="post" action="/accounts/logout/"' in text and "csrfmiddlewaretoken" in text
    assert acme_client.get("/accounts/profile/").status_code == 200  # still signed in: a GET changes nothing

    assert acme_client.post("/accounts/logout/").status_code == 302
    assert acme_client.get("/accounts/profile/").status_code == 302  # to the log-in page

    after = acme_client.get("/accounts/logout/")
    assert after.status_code == 200 and "You are logged out" in after.content.decode()


def test_other_methods_are_still_refused(acme_client):
    assert acme_client.put("/accounts/logout/").status_code == 405


def test_head_is_answered_like_get(acme_client):
    assert acme_client.head("/accounts/logout/").status_code == 200
