"""Writes from the identity provider: SCIM users onto org memberships, through ``accounts.services``.

A SCIM User is a membership. Create invites a person without an account (invite e-mail, Invite
pending until they accept) or adds an existing account; ``active`` is deactivation; ``roles``
is the role; DELETE deactivates and keeps the record. Every function is keyword-only, runs in
one transaction (a rejected request changes nothing) and leaves an audit row with actor
``SystemActor.SCIM``. Errors are the SCIM exceptions of ``scim2-models`` (RFC 7644 §3.12).
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from scim2_models import (
    ConflictException,
    InvalidValueException,
    MutabilityException,
    NotFoundException,
    PatchOp,
    PreconditionFailedException,
    UniquenessException,
)

from accounts.audit_services import audit_record
from accounts.models import AuditAction, Membership, Role, SystemActor
from accounts.selectors import api_keys_of, memberships_by_email
from accounts.services import (
    EmailTaken,
    SharedAccount,
    api_key_revoke,
    invite_create,
    invite_deactivate,
    membership_add,
    membership_change_email,
    membership_change_role,
    membership_deactivate,
    membership_reactivate,
    memberships_lock,
)
from orgdash.errors import Conflict
from scim.models import ScimIdentity
from scim.schema import RequestUser
from scim.selectors import identity_of, membership_reloaded, user_resource

ACTOR = SystemActor.SCIM


class SharedAccountException(MutabilityException):
    """A change this org cannot make to an account other orgs share: 400 ``mutability``, RFC 7644
    §3.12's answer for a change the attribute's current state does not allow."""


@dataclass
class Desired:
    """What a request asks a membership to be, read from a User resource."""

    user_name: str
    external_id: str | None
    email: str
    email_type: str
    email_primary: bool | None
    formatted_name: str
    given_name: str
    family_name: str
    display_name: str
    active: bool | None
    role: str | None
    role_primary: bool | None


def desired_from(user: RequestUser, *, current_role: str | None = None) -> Desired:
    """Reads and checks a parsed User: ``userName`` and an e-mail are required (400 invalidValue)."""
    user_name = (user.user_name or "").strip()
    if not user_name:
        raise InvalidValueException(detail="userName is required.")
    if len(user_name) > 255:
        raise InvalidValueException(detail="userName is longer than 255 characters.")
    entry = _login_email_entry(user.emails or [])
    email = _checked_email(entry.value)
    # An entry without a type is the work address (what Okta and Entra send, and filter on).
    email_type = str(entry.type.value if hasattr(entry.type, "value") else entry.type or "work").strip()
    if len(email_type) > 100:
        raise InvalidValueException(detail="emails.type is longer than 100 characters.")
    name = user.name
    formatted = ((name.formatted if name else None) or "").strip()[:200]
    given = ((name.given_name if name else None) or "").strip()[:200]
    family = ((name.family_name if name else None) or "").strip()[:200]
    display = (user.display_name or "").strip()[:200]
    role, role_primary = _role(user.roles or [], current_role)
    external_id = (user.external_id or "").strip() or None
    if external_id is not None and len(external_id) > 255:
        raise InvalidValueException(detail="externalId is longer than 255 characters.")
    return Desired(
        user_name=user_name,
        external_id=external_id,
        email=email,
        email_type=email_type,
        email_primary=entry.primary,
        formatted_name=formatted,
        given_name=given,
        family_name=family,
        display_name=display,
        active=user.active,
        role=role,
        role_primary=role_primary,
    )


def _login_email_entry(emails):
    """The primary entry, else the only one, else the first (RFC 7643 §2.4 leaves it to us)."""
    values = [entry for entry in emails if entry.value]
    if not values:
        raise InvalidValueException(detail="emails must hold the person's e-mail address (the primary one).")
    primary = [entry for entry in values if entry.primary]
    return primary[0] if len(primary) == 1 else values[0]


def _checked_email(value) -> str:
    email = str(value).strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise InvalidValueException(detail=f"'{value}' is not a valid e-mail address.") from error
    return email


def _role(roles, current_role: str | None) -> tuple[str | None, bool | None]:
    """The role and its ``primary`` flag as sent: the primary entry, or the only one; of several
    unmarked ones, the one that is not the current role (an identity provider appending a role to
    the list means to give it)."""
    values = [entry for entry in roles if entry.value]
    if not values:
        return None, None
    primary = [entry for entry in values if entry.primary]
    if len(primary) == 1:
        chosen = primary[0]
    elif len(values) == 1:
        chosen = values[0]
    else:
        others = [entry for entry in values if str(entry.value).strip().lower() != current_role]
        if len({str(entry.value).strip().lower() for entry in others}) != 1:
            raise InvalidValueException(detail="Give one role: admin, member or viewer (mark one primary).")
        chosen = others[0]
    role = str(chosen.value).strip().lower()
    if role not in Role.values:
        raise InvalidValueException(detail=f"'{chosen.value}' is not a role; use one of {', '.join(Role.values)}.")
    return role, chosen.primary


def _user_name_owner(user_name: str) -> Membership | None:
    identity = (
        ScimIdentity.objects.select_related("membership")
        .annotate(lower_name=Lower("user_name"))
        .filter(lower_name=user_name.lower(), deleted_at=None)
        .first()
    )
    if identity is not None:
        return identity.membership
    return Membership.objects.filter(email=user_name.lower(), scim_identity__isnull=True).first()


# --- create ---------------------------------------------------------------------------------


@transaction.atomic
def user_create(*, user: RequestUser, ip_address: str | None = None) -> Membership:
    """A new membership: an invite for a person without an account, or the existing account added.
    Someone already in the org (by e-mail or userName) is 409 uniqueness."""
    desired = desired_from(user)
    if _user_name_owner(desired.user_name) is not None:
        raise UniquenessException(detail=f"userName '{desired.user_name}' is already in this organization.")
    existing = memberships_by_email([desired.email]).get(desired.email)
    if existing is not None:
        return _revive(existing, desired, ip_address)
    role = desired.role or Role.MEMBER
    account = get_user_model().objects.filter(email__iexact=desired.email).first()
    if account is not None:
        membership = membership_add(user=account, role=role)
        audit_record(
            action=AuditAction.MEMBERSHIP_ADD, actor=ACTOR, target=membership, ip_address=ip_address, role=role
        )
    else:
        result = invite_create(emails=[desired.email], role=role, actor=ACTOR, ip_address=ip_address)
        if not result.invited:  # a concurrent request invited the same address first
            raise UniquenessException(detail=f"{desired.email} is already in this organization.")
        membership = result.invited[0]
    try:
        with transaction.atomic():
            ScimIdentity.objects.create(
                membership=membership, created_at=membership.created_at, **_identity_fields(desired)
            )
    except IntegrityError as error:
        raise UniquenessException(detail=f"userName '{desired.user_name}' is already in this organization.") from error
    audit_record(
        action=AuditAction.SCIM_PROVISION,
        actor=ACTOR,
        target=membership,
        ip_address=ip_address,
        user_name=desired.user_name,
        external_id=desired.external_id,
    )
    if desired.active is False:
        _set_active(membership, False, ip_address)
    return _reloaded(membership)


def _revive(membership: Membership, desired: Desired, ip_address: str | None) -> Membership:
    """POST for someone a SCIM DELETE removed brings them back (RFC 7644 §3.6: a deleted resource
    is no conflict); anyone else already in the org is 409 uniqueness."""
    identity = identity_of(membership)
    if identity is None or identity.deleted_at is None:
        raise UniquenessException(detail=f"{desired.email} is already in this organization.")
    membership = _locked(membership, None)
    identity = identity_of(membership)
    identity.deleted_at = None
    identity.save(update_fields=["deleted_at"])
    audit_record(action=AuditAction.SCIM_PROVISION, actor=ACTOR, target=membership, ip_address=ip_address, revived=True)
    if desired.active is None:
        desired.active = True
    _apply(membership, desired, ip_address)
    return _reloaded(membership)


def _identity_fields(desired: Desired) -> dict:
    return {
        "user_name": desired.user_name,
        "external_id": desired.external_id,
        "formatted_name": desired.formatted_name,
        "given_name": desired.given_name,
        "family_name": desired.family_name,
        "display_name": desired.display_name,
        "email_type": desired.email_type,
        "email_primary": desired.email_primary,
        # Kept only when a role was sent (a PUT without roles keeps the role and its flag).
        **({"role_primary": desired.role_primary} if desired.role else {}),
    }


# --- replace, patch, delete -----------------------------------------------------------------


@transaction.atomic
def user_replace(
    *, membership: Membership, user: RequestUser, if_match: str | None = None, ip_address: str | None = None
) -> Membership:
    """PUT: the membership becomes what the resource says (absent ``roles`` and ``active`` keep theirs)."""
    membership = _locked(membership, if_match)
    _apply(membership, desired_from(user, current_role=membership.role), ip_address)
    return _reloaded(membership)


@transaction.atomic
def user_patch(
    *, membership: Membership, patch: PatchOp | None, if_match: str | None = None, ip_address: str | None = None
) -> Membership:
    """PATCH: the operations are applied by ``scim2-models`` to the current resource, and the
    result is applied like a PUT. ``None``: nothing to apply (``If-Match`` is still checked)."""
    membership = _locked(membership, if_match)
    if patch is None:
        return membership
    current = user_resource(membership, location="")
    current.pop("meta")
    # The role as GET shows it (with its primary flag), so operations filtering on the flag
    # (``roles[primary eq true]``, Entra) find it.
    [shown_role] = current["roles"]
    user = RequestUser.model_validate(current)
    patch.patch(user)
    if user.active is None or not user.roles:
        raise MutabilityException(detail="active and roles cannot be removed; replace them instead.")
    if len(user.roles) > 1:
        # The entry as it was does not outvote the ones added next to it: an identity provider
        # appending a role to the list (Entra) means to give that role.
        for entry in user.roles:
            if str(entry.value).strip().lower() == shown_role["value"] and entry.primary == shown_role["primary"]:
                entry.primary = None
                break
    _apply(membership, desired_from(user, current_role=membership.role), ip_address)
    return _reloaded(membership)


@transaction.atomic
def user_delete(*, membership: Membership, if_match: str | None = None, ip_address: str | None = None) -> None:
    """DELETE deactivates and keeps the record (the Users tab shows Deactivated, the audit trail
    stays); for SCIM the user is gone (RFC 7644 §3.6)."""
    membership = _locked(membership, if_match)
    _set_active(membership, False, ip_address)
    identity = identity_of(membership) or _new_identity(membership, user_name=membership.email)
    identity.deleted_at = timezone.now()
    identity.save()
    audit_record(action=AuditAction.SCIM_DELETE, actor=ACTOR, target=membership, ip_address=ip_address)


def _locked(membership: Membership, if_match: str | None) -> Membership:
    """Locks the person for a change in the order every change takes: their account (an e-mail
    change writes it, as profile changes do first), then the admins and the membership
    (``memberships_lock``), so provisioning and the UI never wait on each other in a cycle."""
    if membership.user_id is not None:
        # NO KEY: a concurrent change by this person, as an admin, checks its audit row's key to them.
        accounts = get_user_model().objects.select_for_update(no_key=True).filter(pk=membership.user_id)
        list(accounts.values_list("pk", flat=True))
    if membership.pk not in memberships_lock(ids=[membership.pk]):
        raise NotFoundException(detail=f"No user with id '{membership.pk}'.")
    membership = _reloaded(membership)
    if if_match and if_match.strip() != "*":
        version = user_resource(membership, location="")["meta"]["version"]
        wanted = {tag.strip() for tag in if_match.split(",")}
        if version not in wanted and version.removeprefix("W/") not in wanted:
            raise PreconditionFailedException(detail="The user changed since that version (If-Match).")
    return membership


def _new_identity(membership: Membership, *, user_name: str) -> ScimIdentity:
    # Created as the membership was, for ``meta.created``: SCIM links people the UI added.
    return ScimIdentity(membership=membership, user_name=user_name, created_at=membership.created_at)


def _reloaded(membership: Membership) -> Membership:
    return membership_reloaded(membership.pk)


def _apply(membership: Membership, desired: Desired, ip_address: str | None) -> None:
    if desired.active is True:
        _set_active(membership, True, ip_address)
        membership.refresh_from_db()
    _apply_identity(membership, desired, ip_address)
    if desired.email != membership.email.lower():
        _change_email(membership, desired.email, ip_address)
    if desired.role and desired.role != membership.role:
        try:
            membership_change_role(membership=membership, role=desired.role, actor=ACTOR, ip_address=ip_address)
        except Conflict as error:
            raise ConflictException(detail=error.message) from error
    if desired.active is False:
        _set_active(membership, False, ip_address)


def _apply_identity(membership: Membership, desired: Desired, ip_address: str | None) -> None:
    owner = _user_name_owner(desired.user_name)
    if owner is not None and owner.pk != membership.pk:
        raise UniquenessException(detail=f"userName '{desired.user_name}' is already in this organization.")
    identity = identity_of(membership) or _new_identity(membership, user_name=desired.user_name)
    wanted = _identity_fields(desired)
    changed = {field: value for field, value in wanted.items() if getattr(identity, field) != value}
    if identity.pk is None or changed:
        for field, value in wanted.items():
            setattr(identity, field, value)
        identity.updated_at = timezone.now()
        try:
            with transaction.atomic():
                identity.save()
        except IntegrityError as error:
            raise UniquenessException(
                detail=f"userName '{desired.user_name}' is already in this organization."
            ) from error
    if changed:
        audit_record(action=AuditAction.SCIM_UPDATE, actor=ACTOR, target=membership, ip_address=ip_address, **changed)


def _change_email(membership: Membership, email: str, ip_address: str | None) -> None:
    try:
        membership_change_email(membership=membership, email=email, actor=ACTOR, ip_address=ip_address)
    except EmailTaken as error:
        raise UniquenessException(detail=error.message) from error
    except SharedAccount as error:
        raise SharedAccountException(detail=error.message) from error
    membership.refresh_from_db()


def _set_active(membership: Membership, active: bool, ip_address: str | None) -> None:
    membership.refresh_from_db(fields=["state", "user"])
    try:
        if active:
            if membership.state == Membership.State.DEACTIVATED:
                membership_reactivate(membership=membership, actor=ACTOR, ip_address=ip_address)
        elif membership.state == Membership.State.INVITED:
            invite_deactivate(membership=membership, actor=ACTOR, ip_address=ip_address)
        else:
            if membership.state == Membership.State.JOINED:
                membership_deactivate(membership=membership, actor=ACTOR, ip_address=ip_address)
            # Deprovisioned by the identity provider (already deactivated in orgdash, too): the
            # person's keys end for good, where a deactivation in orgdash only suspends them
            # until the person is reactivated.
            for api_key in api_keys_of(membership=membership):
                api_key_revoke(api_key=api_key, actor=ACTOR, ip_address=ip_address)
    except Conflict as error:
        raise ConflictException(detail=error.message) from error
