"""The API's content negotiation answers as DRF's own does, whatever the client accepts; a client
that accepts anything is answered without its Accept header being parsed."""

import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, StaticHTMLRenderer
from rest_framework.request import Request

from orgdash.api.negotiation import ContentNegotiation
from tests.accounts.conftest import bearer, key_for

ACCEPT_HEADERS = [
    None,
    "*/*",
    "",
    "application/json",
    "application/json; indent=4",
    "text/html",
    "text/html, */*;q=0.1",
    "application/*",
    "image/png",
    "not a media type",
]
RENDERER_LISTS = {
    "json": [JSONRenderer],
    "json, browsable": [JSONRenderer, BrowsableAPIRenderer],
    "html, json": [StaticHTMLRenderer, JSONRenderer],
    "none": [],
}


def _negotiate(negotiation, accept, query, renderer_classes, format_suffix):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get(f"/api/v1/users/{query}", **headers))
    renderers = [renderer() for renderer in renderer_classes]
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, format_suffix)
    except (NotAcceptable, Http404) as exc:
        return type(exc).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPT_HEADERS)
@pytest.mark.parametrize("query", ["", "?page=2", "?format=json", "?format=api", "?format="])
@pytest.mark.parametrize("renderers", list(RENDERER_LISTS))
@pytest.mark.parametrize("format_suffix", [None, "json"])
def test_every_request_gets_drfs_answer(accept, query, renderers, format_suffix):
    arguments = (accept, query, RENDERER_LISTS[renderers], format_suffix)
    assert _negotiate(ContentNegotiation(), *arguments) == _negotiate(DefaultContentNegotiation(), *arguments)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_a_client_accepting_json_gets_json(acme, acme_client, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = acme_client.get("/api/v1/users/", **bearer(key_for(acme, "admin@acme.test")), **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["count"] >= 3


def test_a_client_accepting_only_html_is_refused_with_406(acme, acme_client):
    response = acme_client.get("/api/v1/users/", HTTP_ACCEPT="text/html", **bearer(key_for(acme, "admin@acme.test")))
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
