"""The Content-Security-Policy headers are django-csp's, though the settings' policies are built
once per process: every case below is answered exactly as django-csp's own middleware answers it."""

import pytest
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse, HttpResponseNotFound
from django.test import RequestFactory

from orgdash.core.middleware import CSPMiddleware

POLICY_HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-reports/"}}


def _plain(request):
    return HttpResponse("ok")


def _uses_nonce(request):
    return HttpResponse(f'<script nonce="{request.csp_nonce}"></script>')


def _not_found(request):
    return HttpResponseNotFound("no")


def _with_header(request):
    response = HttpResponse("ok")
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


VIEWS = {
    "plain": _plain,
    "nonce": _uses_nonce,
    "not found": _not_found,
    "header already set": _with_header,
    "exempt": csp_exempt()(_plain),
    "updated": csp_update({"img-src": ["https://images.example"]})(_plain),
    "replaced": csp_replace({"script-src": ["'self'", "https://cdn.example"]})(_plain),
    "report-only updated": csp_update({"img-src": ["https://images.example"]}, REPORT_ONLY=True)(_plain),
}


def _headers(middleware_class, view, path: str) -> dict[str, str | None]:
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    return {header: response.get(header) for header in POLICY_HEADERS}


@pytest.mark.parametrize("report_only", [None, REPORT_ONLY], ids=["policy", "policy and report-only"])
@pytest.mark.parametrize("excluded", [(), ("/static/",)], ids=["no exclusions", "excluded prefix"])
@pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])
@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("path", ["/api/v1/users/", "/static/app.js"])
def test_every_case_gets_django_csps_headers(settings, report_only, excluded, debug, view, path):
    settings.DEBUG = debug
    settings.CONTENT_SECURITY_POLICY = {**settings.CONTENT_SECURITY_POLICY, "EXCLUDE_URL_PREFIXES": excluded}
    if report_only is None:
        del settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
    else:
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {**report_only, "EXCLUDE_URL_PREFIXES": excluded}
    assert _headers(CSPMiddleware, VIEWS[view], path) == _headers(DjangoCSPMiddleware, VIEWS[view], path)


def test_a_changed_policy_is_served_at_once(settings):
    before = _headers(CSPMiddleware, _plain, "/")["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    after = _headers(CSPMiddleware, _plain, "/")["Content-Security-Policy"]
    assert "script-src 'self'" in before
    assert after == "default-src 'none'"


def test_a_nonce_asked_for_after_the_header_is_written_is_refused():
    request = RequestFactory().get("/")
    CSPMiddleware(_plain)(request)
    with pytest.raises(Exception, match="not available after the CSP header has been written"):
        str(request.csp_nonce)


def test_api_answers_and_pages_carry_the_policy(acme, acme_client):
    api = acme_client.get("/api/v1/users/")
    page = acme_client.get("/accounts/login/")
    assert api.status_code == 401 and page.status_code == 200
    expected = _headers(DjangoCSPMiddleware, _plain, "/")["Content-Security-Policy"]
    assert api["Content-Security-Policy"] == page["Content-Security-Policy"] == expected
