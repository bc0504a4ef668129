"""What this SCIM service provider publishes about itself (RFC 7643 §5-7), built from pydantic
models of ``scim2-models`` so the discovery documents cannot drift from what the code accepts.

``OrgUser`` is the User resource as stored here: the core User schema narrowed to the attributes
an org membership keeps. Requests are parsed with the full RFC ``User`` (plus the enterprise
extension) so that the other RFC 7643 attributes identity providers send by default (``title``,
``phoneNumbers``, ``manager``...) are accepted and ignored; names no RFC schema defines are
rejected. The published schema says so in its description.
"""

from enum import StrEnum
from typing import Annotated, get_args

from pydantic import BaseModel, BeforeValidator
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ComplexAttribute,
    Email,
    EnterpriseUser,
    ETag,
    Filter,
    Pagination,
    Patch,
    Required,
    Resource,
    ResourceType,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
    User,
)

from accounts.models import Role

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
# Largest page of Users (RFC 7644 §3.4.2.4 ``count``); larger requests are clamped to it.
MAX_RESULTS = 500
DEFAULT_COUNT = 100
# Request bodies above this are refused with 413 before they are parsed.
MAX_PAYLOAD_BYTES = 64 * 1024


class RequestEmail(Email):
    # Checked by Django's validator like every other address here: the library's would refuse
    # special-use domains (``.local``, ``.test``) that real directories and orgs use.
    value: str | None = None


def _scim_boolean(value):
    """true or false, or Entra ID's strings "True" and "False" (in any case); not whatever else
    pydantic reads as a boolean ("no", "off", 0), so a mistaken value cannot deactivate anyone."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):  # as the filter reads it
        return value.strip().lower() == "true"
    if value is not None and not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


class RequestUser(User[EnterpriseUser]):
    """What requests are parsed into: every RFC attribute, so unsupported ones are ignored and
    unknown ones refused."""

    emails: list[RequestEmail] | None = None
    active: Annotated[bool | None, BeforeValidator(_scim_boolean)] = None


ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _unstored_attributes() -> frozenset[str]:
    """RFC 7643 User attributes (and the Enterprise User extension) a membership does not keep,
    lower-cased: attribute names are case-insensitive (RFC 7643 §2.1)."""
    request = {field.serialization_alias or name for name, field in RequestUser.model_fields.items()}
    kept = {field.serialization_alias or name for name, field in OrgUser.model_fields.items()}
    return frozenset(name.lower() for name in request - kept - {"EnterpriseUser"}) | {ENTERPRISE_SCHEMA.lower()}


def _attribute_of(path: str) -> str:
    """The top-level attribute a PATCH path names (``phoneNumbers[type eq "work"].value`` ->
    ``phonenumbers``; an extension's path -> the extension)."""
    lowered = path.strip().lower()
    if lowered.startswith(ENTERPRISE_SCHEMA.lower()):
        return ENTERPRISE_SCHEMA.lower()
    lowered = lowered.removeprefix(USER_SCHEMA.lower() + ":")
    for separator in ("[", "."):
        lowered = lowered.split(separator, 1)[0]
    return lowered


def without_unstored(resource: dict) -> dict:
    """A User body without the attributes that are accepted and not stored: identity providers
    send them in shapes of their own (Entra's ``manager`` as a bare id), and nothing here reads them."""
    # A key may name its attribute in full (``urn:...:enterprise:2.0:User:manager``).
    return {
        key: value
        for key, value in resource.items()
        if not (isinstance(key, str) and _attribute_of(key) in UNSTORED_ATTRIBUTES)
    }


def patch_without_unstored(body: dict) -> dict:
    """A PatchOp body without the operations (or the parts of a path-less operation's value) that
    touch attributes that are not stored; what is left is applied as sent."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    kept = []
    for operation in operations:
        if not isinstance(operation, dict):
            kept.append(operation)
            continue
        path = operation.get("path")
        if isinstance(path, str) and path.strip():
            if _attribute_of(path) not in UNSTORED_ATTRIBUTES:
                kept.append(operation)
        elif isinstance(operation.get("value"), dict):
            value = without_unstored(operation["value"])
            if value:
                kept.append({**operation, "value": value})
        else:
            kept.append(operation)
    return {**body, "Operations": kept}


class RoleValue(StrEnum):
    admin = Role.ADMIN.value
    member = Role.MEMBER.value
    viewer = Role.VIEWER.value


class OrgName(ComplexAttribute):
    formatted: str | None = None
    """The full name, shown in the Users tab."""

    family_name: str | None = None
    given_name: str | None = None


class OrgEmail(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    """The person's log-in e-mail: the primary entry, or the only one."""

    type: str | None = None
    primary: bool | None = None


class OrgRole(ComplexAttribute):
    value: Annotated[RoleValue | None, Required.true] = None
    """The person's role in the org; one role only."""

    primary: bool | None = None


class OrgUser(Resource):
    """A member or pending invite of the org."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    """Unique in the org: an e-mail or any other unique name."""

    name: OrgName | None = None
    display_name: str | None = None
    emails: Annotated[list[OrgEmail] | None, Required.true] = None
    # Always set here (a member is active or not, and has one role), so they cannot be removed;
    # a create or replace without them gets active true and role member.
    active: Annotated[bool | None, Required.true] = None
    """False exactly when the membership is deactivated."""

    roles: Annotated[list[OrgRole] | None, Required.true] = None


UNSTORED_ATTRIBUTES = _unstored_attributes()


def _scim_names(model, names: dict[str, str]) -> dict[str, str]:
    """Python field name -> SCIM attribute name, for every attribute of ``model`` and its parts
    whose names differ (``display_name`` -> ``displayName``)."""
    for name, field in model.model_fields.items():
        alias = field.serialization_alias or name
        if "_" in name and alias != name:
            names[name] = alias
        for candidate in (field.annotation, *get_args(field.annotation)):
            for kind in (candidate, *get_args(candidate)):
                nested = isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not model
                if nested and kind.__name__ not in names:
                    names[kind.__name__] = kind.__name__
                    _scim_names(kind, names)
    return names


# What error messages of the validation library call attributes, to be named as SCIM does.
SCIM_NAMES = {name: alias for name, alias in _scim_names(RequestUser, {}).items() if "_" in name}


def user_schema():
    schema = OrgUser.to_schema()
    schema.id = USER_SCHEMA
    schema.name = "User"
    schema.description = (
        "An org member or pending invite. Other attributes of RFC 7643's User and Enterprise User "
        "schemas are accepted and not stored; attributes of no schema are refused."
    )
    return schema


def resource_types(base_url: str) -> list[ResourceType]:
    return [
        ResourceType(
            id="User",
            name="User",
            endpoint="/Users",
            description="Org members and pending invites",
            schema_=USER_SCHEMA,
            meta={"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
        )
    ]


def service_provider_config(base_url: str, documentation_uri: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=documentation_uri,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=False,
            index=True,
            default_pagination_method="index",
            default_page_size=DEFAULT_COUNT,
            max_page_size=MAX_RESULTS,
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="OAuth Bearer Token",
                description="The org's SCIM token: Authorization: Bearer <token>",
                primary=True,
            )
        ],
        meta={"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    )
