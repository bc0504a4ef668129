"""Reads: org memberships as SCIM User resources (RFC 7643 §4.1)."""

import hashlib
import json
import re
from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet, Subquery
from scim2_models import NotFoundException

from accounts.models import AuditAction, AuditEvent, Membership
from scim.models import ScimIdentity
from scim.schema import USER_SCHEMA


@dataclass
class UserPage:
    total: int
    start_index: int
    resources: list[dict]


# Changes to what a User resource shows, from any side (SCIM, the UI, bulk actions, the dormancy
# policy, the person's own profile): each writes an audit row naming the membership.
# A SCIM id as this service writes it: a membership id in decimal, ASCII digits, no leading zero.
RESOURCE_ID = re.compile(r"[1-9][0-9]*", re.ASCII)

SHOWN_CHANGES = [
    AuditAction.MEMBERSHIP_ADD,
    AuditAction.MEMBERSHIP_CHANGE_ROLE,
    AuditAction.MEMBERSHIP_CHANGE_EMAIL,
    AuditAction.MEMBERSHIP_DEACTIVATE,
    AuditAction.MEMBERSHIP_REACTIVATE,
    AuditAction.INVITE_CREATE,
    AuditAction.INVITE_ACCEPT,
    AuditAction.SCIM_PROVISION,
    AuditAction.SCIM_UPDATE,
    AuditAction.SCIM_DELETE,
    AuditAction.PROFILE_UPDATE,
]


def _with_last_change(queryset: QuerySet) -> QuerySet:
    last = (
        AuditEvent.objects.filter(target_membership=OuterRef("pk"), action__in=SHOWN_CHANGES)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return queryset.select_related("scim_identity").annotate(last_change=Subquery(last))


def memberships() -> QuerySet:
    """Every membership SCIM sees: all but those a SCIM DELETE removed."""
    # NOT IN over the few deleted ones (a partial index) keeps counts and pages off a join.
    deleted = ScimIdentity.objects.filter(deleted_at__isnull=False).values("membership_id")
    return _with_last_change(Membership.objects.exclude(pk__in=deleted)).order_by("id")


def membership_reloaded(pk: int) -> Membership:
    """A membership as it is now, with what its User resource needs (SCIM-deleted ones too)."""
    return _with_last_change(Membership.objects.all()).get(pk=pk)


def membership_pk_of(resource_id) -> int | None:
    """The membership id a SCIM id is written as, or None. Ids are strings compared exactly: only
    the canonical decimal form names a membership ("7", not "07" nor in full-width or Arabic-Indic digits)."""
    text = str(resource_id)
    if not RESOURCE_ID.fullmatch(text) or int(text) >= 2**63:
        return None
    return int(text)


def membership_for_id(resource_id: str) -> Membership:
    """The membership behind a SCIM id, or NotFoundException (ids are the memberships' ids)."""
    pk = membership_pk_of(resource_id)
    if pk is None:
        raise NotFoundException(detail=f"No user with id '{resource_id}'.")
    membership = memberships().filter(pk=pk).first()
    if membership is None:
        raise NotFoundException(detail=f"No user with id '{resource_id}'.")
    return membership


def identity_of(membership: Membership):
    try:
        return membership.scim_identity
    except Membership.scim_identity.RelatedObjectDoesNotExist:
        return None


def user_resource(membership: Membership, *, location: str) -> dict:
    """The User resource of a membership, its ``meta.version`` a weak ETag of everything else."""
    identity = identity_of(membership)
    resource: dict = {"schemas": [USER_SCHEMA], "id": str(membership.pk)}
    if identity is not None and identity.external_id:
        resource["externalId"] = identity.external_id
    resource["userName"] = identity.user_name if identity is not None else membership.email
    if identity is not None:
        name = {
            "formatted": identity.formatted_name,
            "givenName": identity.given_name,
            "familyName": identity.family_name,
        }
        display_name = identity.display_name
    else:
        name, display_name = {"formatted": membership.name}, membership.name
    name = {key: value for key, value in name.items() if value}
    if name:
        resource["name"] = name
    if display_name:
        resource["displayName"] = display_name
    email = {"value": membership.email, "type": "work", "primary": True}
    if identity is not None:
        email.update(type=identity.email_type or None, primary=identity.email_primary)
    resource["emails"] = [{key: value for key, value in email.items() if value is not None}]
    resource["active"] = membership.state != Membership.State.DEACTIVATED
    role_primary = True if identity is None or identity.role_primary is None else identity.role_primary
    resource["roles"] = [{"value": membership.role, "primary": role_primary}]
    # An identity keeps when the membership was created; the membership's own "Added" moves
    # forward when an invite is sent again.
    created = membership.created_at if identity is None else min(membership.created_at, identity.created_at)
    changes = [created, membership.joined_at, membership.deactivated_at, getattr(membership, "last_change", None)]
    if identity is not None:
        changes.append(identity.updated_at)
    version = hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[:20]
    resource["meta"] = {
        "resourceType": "User",
        "created": _iso(created),
        "lastModified": _iso(max(moment for moment in changes if moment is not None)),
        "location": location,
        "version": f'W/"{version}"',
    }
    return resource


def users_page(*, where: Q, start_index: int, count: int, location_of) -> UserPage:
    """One page of the memberships ``where`` selects, in id order (RFC 7644 §3.4.2.4)."""
    queryset = memberships().filter(where)
    total = queryset.count()
    # Past the end is an empty page (RFC 7644 §3.4.2.4), and an offset the database cannot hold
    # (a bigint) is always past the end.
    rows = list(queryset[start_index - 1 : start_index - 1 + count]) if count and start_index <= total else []
    return UserPage(
        total=total,
        start_index=start_index,
        resources=[user_resource(row, location=location_of(row.pk)) for row in rows],
    )


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")
