import logging

from django.contrib.auth import logout
from django.db import connection
from django.http import JsonResponse

from orgdash.core.health import health_report

logger = logging.getLogger(__name__)

SESSION_ORG_KEY = "orgdash_org"


class HealthCheckMiddleware:
    """Answers ``/healthz`` before tenant resolution, so it works on every host."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in ("/healthz", "/healthz/"):
            report, healthy = health_report()
            return JsonResponse(report, status=200 if healthy else 503)
        return self.get_response(request)


class OrgSessionMiddleware:
    """A session belongs to the org it was created in; presented on another host it is ended."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session_org = request.session.get(SESSION_ORG_KEY)
            if session_org != connection.schema_name:
                logout(request)
        return self.get_response(request)


def bind_session_to_org(sender, request, user, **kwargs):
    request.session[SESSION_ORG_KEY] = connection.schema_name
