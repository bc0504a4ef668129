"""Messages are stored and shown as with Django's own middleware, though a request's message storage
is made only when something adds or reads a message."""

import pytest
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from orgdash.core.middleware import MessageMiddleware
from tests.conftest import login


def _adds(request):
    messages.success(request, "Saved.")
    return HttpResponse("ok")


def _reads(request):
    return HttpResponse(" | ".join(str(message) for message in messages.get_messages(request)))


def _ignores(request):
    return HttpResponse("ok")


def _counts_without_reading(request):
    return HttpResponse(str(messages.get_level(request)))


VIEWS = {"adds": _adds, "reads": _reads, "ignores": _ignores, "level only": _counts_without_reading}


def _answer(middleware_class, view, cookie: str | None):
    factory = RequestFactory()
    if cookie is not None:
        factory.cookies["messages"] = cookie
    request = factory.get("/")
    response = SessionMiddleware(middleware_class(view))(request)
    sent = response.cookies.get("messages")
    return response.content, None if sent is None else (sent.value, sent["max-age"], sent["expires"])


def _cookie_with_a_message() -> str:
    _, cookie = _answer(DjangoMessageMiddleware, _adds, None)
    return cookie[0]


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("with_cookie", [False, True], ids=["no messages waiting", "a message waiting"])
def test_every_case_is_answered_as_django_answers_it(db, view, with_cookie):
    cookie = _cookie_with_a_message() if with_cookie else None
    assert _answer(MessageMiddleware, VIEWS[view], cookie) == _answer(DjangoMessageMiddleware, VIEWS[view], cookie)


def test_a_saved_profile_says_so_on_the_next_page(acme, acme_client):
    login(acme_client, "member@acme.test")
    page = acme_client.post(
        "/accounts/profile/", {"form": "profile", "name": "Member Renamed", "username": "member-renamed"}, follow=True
    )
    assert page.status_code == 200
    assert "Your profile is saved." in page.content.decode()
    assert "Your profile is saved." not in acme_client.get("/accounts/profile/").content.decode()
