import copy
import functools
import logging
import threading
import time

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as PolicyBuildingCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.messages.middleware import MessageMiddleware as EagerMessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.http import HttpResponseNotFound, JsonResponse
from django.utils.functional import SimpleLazyObject, empty
from django_tenants.middleware.main import TenantMainMiddleware

from orgdash.core.health import health_report
from orgdash.core.views import is_api_request, page_not_found

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


class TenantCache:
    """Host → org, kept in the process for ``ORGDASH_TENANT_CACHE_SECONDS``, so a request does not
    switch to the public schema and look its host up in ``core_domain`` each time (two of a small
    API call's five to seven round trips). Emptied in this process whenever an org or a domain is
    saved or deleted; other processes see such a change within the TTL."""

    def __init__(self):
        self._entries: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, hostname: str):
        entry = self._entries.get(hostname)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, hostname: str, tenant, *, seconds: float) -> None:
        with self._lock:
            self._entries[hostname] = (time.monotonic() + seconds, tenant)

    def clear(self, **kwargs) -> None:
        with self._lock:
            self._entries.clear()


tenant_cache = TenantCache()


class CachedTenantMiddleware(TenantMainMiddleware):
    """django-tenants' host → schema middleware, with the org of a host cached (see ``TenantCache``);
    an unknown host is looked up every time and answers 404 as before.

    A cached host switches the connection straight to its org, and a connection whose session is
    already on that org's ``search_path`` (its previous request was the same org's) keeps it: no
    ``SET search_path`` round trip to public and back before the request's first statement."""

    def process_request(self, request):
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return page_not_found(request) if is_api_request(request) else HttpResponseNotFound()
        if settings.ORGDASH_TENANT_CACHE_SECONDS <= 0:
            return super().process_request(request)
        tenant = tenant_cache.get(hostname)
        if tenant is None:  # looked up in public and cached by get_tenant(), or a 404
            return super().process_request(request)
        # Each request gets its own copy: the middleware sets attributes on it.
        tenant = copy.copy(tenant)
        tenant.domain_url = hostname
        request.tenant = tenant
        switch_connection_to(tenant)
        self.setup_url_routing(request)
        return None

    def no_tenant_found(self, request, hostname):
        # Answered here, not by raising Http404: under DEBUG that would be Django's debug page.
        if is_api_request(request):
            return page_not_found(request)
        return super().no_tenant_found(request, hostname)

    def get_tenant(self, domain_model, hostname):
        tenant = super().get_tenant(domain_model, hostname)
        seconds = settings.ORGDASH_TENANT_CACHE_SECONDS
        if seconds > 0:
            tenant_cache.put(hostname, tenant, seconds=seconds)
            tenant = copy.copy(tenant)
        return tenant


def switch_connection_to(tenant) -> None:
    """``connection.set_tenant()``, keeping what the backend knows of the session's ``search_path``
    when it is already this org's. ``set_tenant()`` always forgets it, so the next statement would
    be preceded by a ``SET search_path`` to the value the session has (TENANT_LIMIT_SET_CALLS only
    saves repeats within one switch). The backend forgets it by itself on close, rollback and
    savepoint rollback, where the session may have lost it."""
    search_path_on_server = connection.search_path_set_schemas
    connection.set_tenant(tenant)
    if search_path_on_server and search_path_on_server == connection._get_cursor_search_paths():
        connection.search_path_set_schemas = search_path_on_server


# What a response or a view sets to change its own policy (django-csp's decorators).
_PER_RESPONSE_POLICY_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_POLICY_SETTINGS = ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")


@functools.cache
def _settings_policies() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, policy, exemption attribute, excluded path prefixes) of the policy and of the
    report-only policy the settings describe, as django-csp writes them."""
    policies = []
    for header, setting, report_only, exempt_attribute in (
        (HEADER, "CONTENT_SECURITY_POLICY", False, "_csp_exempt"),
        (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True, "_csp_exempt_ro"),
    ):
        policy = build_policy(report_only=report_only)
        if policy:
            excluded = tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())
            policies.append((header, policy, exempt_attribute, excluded))
    return tuple(policies)


@receiver(setting_changed)
def _forget_settings_policies(*, setting, **kwargs) -> None:
    if setting in _POLICY_SETTINGS:
        _settings_policies.cache_clear()


class CSPMiddleware(PolicyBuildingCSPMiddleware):
    """django-csp's middleware, with the settings' policies built once per process instead of on
    every response (the same header text; ≈ 20 µs of every request's CPU). A response that sets
    its own policy (django-csp's decorators) or a request that used a nonce is built by
    django-csp as before."""

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, attribute, None) is not None for attribute in _PER_RESPONSE_POLICY_ATTRIBUTES
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:  # Django's debug pages
            return response
        for header, policy, exempt_attribute, excluded in _settings_policies():
            if (
                header not in response
                and getattr(response, exempt_attribute, False) is False
                and not request.path_info.startswith(excluded)
            ):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


class MessageMiddleware(EagerMessageMiddleware):
    """Django's messages, with a request's message storage made when something first adds or
    reads a message (pages do, through the template context; API requests never do), so a
    request that uses none spends nothing on it (≈ 10 µs: a cookie signer and two storages)."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        storage = getattr(request, "_messages", None)
        if isinstance(storage, SimpleLazyObject) and storage._wrapped is empty:
            return response  # never used: nothing to store
        return super().process_response(request, response)
