"""API authentication: per-user (or per-service) API keys, and the browser session."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts import selectors
from accounts.models import ApiKey, Membership
from orgdash.core.client_address import client_ip
from orgdash.core.keys import hash_api_key


class ServicePrincipal:
    """The caller behind a service key: it can report activity and nothing else."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_active = True
    pk = None
    id = None
    membership = None
    email = ""

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"service key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        secret = secret.strip()
        if not secret:
            raise exceptions.AuthenticationFailed("Empty API key.")
        if connection.schema_name == "public":
            raise exceptions.AuthenticationFailed("API keys are only valid on their organization's host.")
        api_key = selectors.live_api_key(key_hash=hash_api_key(secret))
        if api_key is None:
            ApiKeyGuessCounter(request).refuse_invalid_key("Invalid API key.")
        if api_key.kind == ApiKey.Kind.SCIM:
            raise exceptions.AuthenticationFailed("A SCIM token works only under /scim/v2/.")
        self._touch(api_key)
        if api_key.kind == ApiKey.Kind.SERVICE:
            return ServicePrincipal(api_key), api_key
        membership = api_key.membership
        if membership.state != Membership.State.JOINED or not membership.user.is_active:
            raise exceptions.AuthenticationFailed("This API key's membership is deactivated.")
        user = membership.user
        user.membership = membership
        return user, api_key

    def authenticate_header(self, request):
        return self.keyword

    @staticmethod
    def _touch(api_key: ApiKey) -> None:
        # Written at most once a minute per key, so key use adds no write to most calls.
        now = timezone.now()
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now


class ApiKeyGuessCounter:
    """Counts invalid keys per client address; past the limit the address must wait (429).

    Consulted only once a key has not been found: a valid key (256 random bits, never guessed) is
    let in without a Redis round trip, and every invalid one is still counted or refused."""

    def __init__(self, request):
        address = client_ip(request) or "unknown"
        self.cache_key = f"api-key-failures:{address}"

    def refuse_invalid_key(self, detail: str):
        """Raises 429 past the limit, else counts the failure and raises 401 with ``detail``."""
        self.refuse_when_exceeded()
        self.record_failure()
        raise exceptions.AuthenticationFailed(detail)

    def refuse_when_exceeded(self) -> None:
        try:
            failures = cache.get(self.cache_key, 0)
        except Exception:  # the cache being down must not lock every client out
            return
        if failures >= settings.ORGDASH_API_KEY_FAILURE_LIMIT:
            raise exceptions.Throttled(
                wait=settings.ORGDASH_API_KEY_FAILURE_WINDOW,
                detail="Too many invalid API keys from this address; try again later.",
            )

    def record_failure(self) -> None:
        try:
            if not cache.add(self.cache_key, 1, settings.ORGDASH_API_KEY_FAILURE_WINDOW):
                cache.incr(self.cache_key)
        except Exception:
            return


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser session (already scoped to the org by the auth backend), with CSRF checks."""


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Publishes the Bearer API key in the OpenAPI schema (clients and fuzzers see how to sign in)."""

    target_class = "accounts.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key of this organization."}


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
