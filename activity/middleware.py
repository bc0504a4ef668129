"""Which requests are a member's activity, and of which kind.

``ActivityMiddleware`` looks at each request after its response is ready, so it sees the user
that Django REST framework authenticated inside the view (an API key's member) as well as the
session's user. It records, for a joined member of the current org:

- ``api`` for any ``/api/`` request, or ``sdk`` when the client says it is the SDK
  (``User-Agent: orgdash-sdk/<version>`` or ``X-Orgdash-Client: sdk``);
- ``page_view`` for any other page;
- plus what the request noted on the way (``note_activity``): ``login`` from the login signal,
  ``run_logged``/``sdk`` from logging a run — all in one recording.

Not recorded: anonymous requests, support staff without a membership, service keys, static files,
``/favicon.ico``, health checks, and requests carrying ``X-Orgdash-Background: 1`` — the
dashboard's own polling, which a person did not cause.
"""

import logging

from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name

from accounts.auth import membership_of
from accounts.models import Membership
from activity.models import ActivityKind
from activity.recording import recorder

logger = logging.getLogger(__name__)

NOTED_KINDS_ATTRIBUTE = "orgdash_activity_kinds"
BACKGROUND_HEADER = "X-Orgdash-Background"
CLIENT_HEADER = "X-Orgdash-Client"
SDK_USER_AGENT_PREFIX = "orgdash-sdk/"
_NOT_ACTIVITY_PREFIXES = ("/static/", "/favicon.ico", "/healthz")


def is_sdk_client(request) -> bool:
    headers = request.headers
    return (
        headers.get("User-Agent", "").lower().startswith(SDK_USER_AGENT_PREFIX)
        or headers.get(CLIENT_HEADER, "").strip().lower() == "sdk"
    )


def note_activity(request, kind: int) -> bool:
    """Adds ``kind`` to what the current request records; False when no ActivityMiddleware is
    handling the request (the caller then records by itself)."""
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    noted = getattr(request, NOTED_KINDS_ATTRIBUTE, None)
    if noted is None:
        return False
    setattr(request, NOTED_KINDS_ATTRIBUTE, noted | kind)
    return True


def surface_kind(request) -> int:
    if request.path_info.startswith("/api/"):
        return ActivityKind.SDK if is_sdk_client(request) else ActivityKind.API
    return ActivityKind.PAGE_VIEW


def member_of_request(request) -> Membership | None:
    """The joined membership in the request's org of whoever made the request, if any."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    membership = membership_of(user)
    if membership is None or membership.state != Membership.State.JOINED:
        return None
    return membership


def record_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: a login is activity of its own kind."""
    if request is not None and note_activity(request, ActivityKind.LOGIN):
        return
    # A login outside a request this middleware handles (e.g. a test client's login()).
    schema = connection.schema_name
    membership = membership_of(user) if schema != get_public_schema_name() else None
    if membership is not None and membership.state == Membership.State.JOINED:
        recorder.record(schema=schema, membership_id=membership.pk, kinds=ActivityKind.LOGIN)


class ActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        setattr(request, NOTED_KINDS_ATTRIBUTE, 0)
        response = self.get_response(request)
        if settings.ORGDASH_ACTIVITY_RECORDING:
            try:
                self._record(request)
            except Exception:  # the response is ready; recording must never turn it into an error
                logger.exception("activity recording failed for %s", request.path_info)
        return response

    @staticmethod
    def _record(request) -> None:
        if request.path_info.startswith(_NOT_ACTIVITY_PREFIXES):
            return
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == get_public_schema_name():
            return
        membership = member_of_request(request)
        if membership is None:
            return
        kinds = getattr(request, NOTED_KINDS_ATTRIBUTE, 0)
        if request.headers.get(BACKGROUND_HEADER) != "1":
            kinds |= surface_kind(request)
        recorder.record(schema=tenant.schema_name, membership_id=membership.pk, kinds=kinds)
