"""The SCIM token (``Authorization: Bearer``), the only credential ``/scim/v2/`` accepts.

Personal and service keys and browser sessions are refused here, as the SCIM token is refused
everywhere else (``accounts.api.authentication``).
"""

from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission

from accounts.api.authentication import ApiKeyAuthentication, ApiKeyGuessCounter, ServicePrincipal
from accounts.models import ApiKey
from orgdash.core.keys import hash_api_key


class ScimPrincipal(ServicePrincipal):
    """The identity provider behind the org's SCIM token (not a member: no activity is recorded)."""

    def __str__(self) -> str:
        return f"SCIM token {self.api_key.prefix}"


class ScimTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise exceptions.NotAuthenticated("Send the org's SCIM token: Authorization: Bearer <token>.")
        if connection.schema_name == "public":
            raise exceptions.AuthenticationFailed("SCIM tokens are only valid on their organization's host.")
        api_key = ApiKey.objects.filter(key_hash=hash_api_key(secret.strip()), revoked_at__isnull=True).first()
        if api_key is None:
            ApiKeyGuessCounter(request).refuse_invalid_key("Invalid SCIM token.")
        if api_key.kind != ApiKey.Kind.SCIM:
            raise exceptions.AuthenticationFailed("This API key is not a SCIM token; only the SCIM token works here.")
        ApiKeyAuthentication._touch(api_key)
        return ScimPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


class IsScimClient(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, ScimPrincipal)
