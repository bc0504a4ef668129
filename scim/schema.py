"""What this SCIM service provider publishes about itself (RFC 7643 §5-7), built from pydantic
models of ``scim2-models`` so the discovery documents cannot drift from what the code accepts.

``OrgUser`` is the User resource as stored here: the core User schema narrowed to the attributes
an org membership keeps. Requests are parsed with the full RFC ``User`` (plus the enterprise
extension) so that the other RFC 7643 attributes identity providers send by default (``title``,
``phoneNumbers``, ``manager``...) are accepted and ignored; names no RFC schema defines are
rejected. The published schema says so in its description.
"""

from enum import StrEnum
from typing import Annotated

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


class RequestUser(User[EnterpriseUser]):
    """What requests are parsed into: every RFC attribute, so unsupported ones are ignored and
    unknown ones refused."""

    emails: list[RequestEmail] | None = None


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
