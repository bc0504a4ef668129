"""Writes on an org's members, invites and API keys.

Each function is keyword-only, atomic and idempotent, and writes an ``AuditEvent`` (actor, target,
time, IP) when it changes something. Side effects outside the database (the invite e-mail) are
queued with ``transaction.on_commit`` so a worker never reads uncommitted rows.
"""

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit_services import audit_record
from accounts.models import ApiKey, AuditAction, AuditEvent, Invite, Membership, Role
from accounts.selectors import account_in_other_orgs, memberships_by_email
from orgdash.celery import queue_task
from orgdash.core.keys import generate_api_key
from orgdash.errors import Conflict, InvalidInput, NotFound

LAST_ADMIN_MESSAGE = "An organization must keep at least one active admin; make someone else admin first."
MAX_INVITES_PER_REQUEST = 500


class MembershipStateError(Conflict):
    """The action does not apply to the membership in its current state (e.g. deactivating an invite)."""


class EmailTaken(Conflict):
    """Another member of the org, or another account, already uses the address."""

    code = "email_taken"


class SharedAccount(Conflict):
    """The account also belongs to other orgs (or is support staff's): its log-in e-mail is not
    one org's to change, as that would hand the account over in the others."""

    code = "shared_account"


class InviteNotPending(NotFound):
    """The membership is not a pending invite (already accepted, cancelled or never an invite)."""


class InviteInvalid(Exception):
    """An invite token that cannot be accepted. ``reason``: unknown, expired, already_member, account_exists."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class InviteResult:
    invited: list[Membership] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    # Raw tokens of the new invites, by membership id (only ever in memory and in the e-mail).
    tokens: dict[int, str] = field(default_factory=dict)


# --- people --------------------------------------------------------------------------------


@transaction.atomic
def membership_add(*, user, role: str = Role.MEMBER, invited_by=None) -> Membership:
    """Makes ``user`` a joined member of the current org (or returns the existing membership)."""
    membership = Membership.objects.filter(user=user).first()
    if membership is not None:
        return membership
    now = timezone.now()
    return Membership.objects.create(
        user=user,
        email=user.email,
        username=user.username,
        name=user.name,
        role=role,
        state=Membership.State.JOINED,
        created_at=now,
        joined_at=now,
        invited_by=invited_by,
        invited_by_email=getattr(invited_by, "email", None),
    )


def user_get_or_create(*, email: str, password: str | None = None, name: str = ""):
    """The global account for ``email``; a new one gets ``password`` (or none usable)."""
    User = get_user_model()
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    base = "".join(ch for ch in email.split("@")[0] if ch.isalnum() or ch in "._-")[:140] or "user"
    username, suffix = base, 1
    while User.objects.filter(username=username).exists():
        suffix += 1
        username = f"{base}{suffix}"
    user = User.objects.create_user(email=email, password=password, username=username, name=name)
    return user, True


def memberships_lock(*, ids: Iterable[int], admins: bool = True) -> dict[int, Membership]:
    """Locks memberships for a change and returns the targets found, by id. One statement locks
    them in id order, the order every lock of several membership rows takes (the activity
    catch-up's too), so no two changes can wait on each other in a cycle; ``admins``: every joined
    admin with them, so two changes that could each remove an admin run one after the other and
    the second sees the first's outcome. FOR NO KEY UPDATE: foreign-key checks of rows that point
    at a locked row (an audit row naming its actor) still go on."""
    ids = list(ids)
    rows = Q(pk__in=ids)
    if admins:
        rows |= Q(state=Membership.State.JOINED, role=Role.ADMIN)
    list(Membership.objects.select_for_update(no_key=True).filter(rows).order_by("id").values_list("id", flat=True))
    return {membership.pk: membership for membership in Membership.objects.filter(pk__in=ids).order_by("id")}


def _lock_for_admin_change(membership_pk: int) -> Membership:
    membership = memberships_lock(ids=[membership_pk]).get(membership_pk)
    if membership is None:
        raise Membership.DoesNotExist(f"No membership {membership_pk}.")
    return membership


def _ensure_another_admin(membership: Membership) -> None:
    if not membership.is_admin:
        return
    others = (
        Membership.objects.filter(state=Membership.State.JOINED, role=Role.ADMIN).exclude(pk=membership.pk).exists()
    )
    if not others:
        raise Conflict(LAST_ADMIN_MESSAGE)


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: str, actor=None, ip_address: str | None = None
) -> Membership:
    if role not in Role.values:
        raise InvalidInput(errors={"role": [f"'{role}' is not a role; use one of {', '.join(Role.values)}."]})
    membership = _lock_for_admin_change(membership.pk)
    if membership.role == role:
        return membership
    if role != Role.ADMIN:
        _ensure_another_admin(membership)
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action=AuditAction.MEMBERSHIP_CHANGE_ROLE,
        actor=actor,
        target=membership,
        ip_address=ip_address,
        old=previous,
        new=role,
    )
    return membership


@transaction.atomic
def membership_change_email(
    *, membership: Membership, email: str, actor=None, ip_address: str | None = None
) -> Membership:
    """The person's e-mail: their account's log-in e-mail once they have joined, else the address
    their invite goes to (a new link is sent there). Refused (SharedAccount) for an account that
    is in another org too, in any state, or is support staff's."""
    email = normalize_emails([email])[0]
    User = get_user_model()
    # The account before the membership: the order profile changes take (account, then copies).
    account = User.objects.select_for_update(no_key=True).get(pk=membership.user_id) if membership.user_id else None
    membership = Membership.objects.select_for_update(no_key=True).get(pk=membership.pk)
    if email == membership.email.lower():
        return membership
    other = memberships_by_email([email]).get(email)
    if other is not None and other.pk != membership.pk:
        raise EmailTaken(f"{email} is already in this organization.")
    if account is not None:
        if account.is_staff or account.is_superuser or account_in_other_orgs(user_id=account.pk):
            raise SharedAccount(
                f"The account of {membership.email} also belongs to other organizations; only its owner "
                "can change its e-mail. Provision the new address as a new user instead."
            )
        if User.objects.filter(email__iexact=email).exclude(pk=account.pk).exists():
            raise EmailTaken(f"Another account already uses {email}.")
        # No other org holds a copy of this account's e-mail (checked above): this row is the only one.
        account.email = email
        account.save(update_fields=["email"])
    previous = membership.email
    membership.email = email
    membership.save(update_fields=["email"])
    audit_record(
        action=AuditAction.MEMBERSHIP_CHANGE_EMAIL, actor=actor, target=membership, ip_address=ip_address, old=previous
    )
    if membership.state == Membership.State.INVITED:
        invite_resend(membership=membership, actor=actor, ip_address=ip_address)
    return membership


@transaction.atomic
def membership_deactivate(*, membership: Membership, actor=None, ip_address: str | None = None) -> Membership:
    """Revokes access at once: the auth backend and API key authentication check the state on
    every request, so the member's sessions and keys for this org stop working immediately."""
    membership = _lock_for_admin_change(membership.pk)
    if membership.state == Membership.State.DEACTIVATED:
        return membership
    if membership.state == Membership.State.INVITED:
        raise MembershipStateError("This is a pending invite; cancel the invite instead.")
    _ensure_another_admin(membership)
    membership.state = Membership.State.DEACTIVATED
    membership.deactivated_at = timezone.now()
    membership.deactivated_by = actor if getattr(actor, "pk", None) else None
    membership.save(update_fields=["state", "deactivated_at", "deactivated_by"])
    audit_record(action=AuditAction.MEMBERSHIP_DEACTIVATE, actor=actor, target=membership, ip_address=ip_address)
    return membership


@transaction.atomic
def membership_reactivate(*, membership: Membership, actor=None, ip_address: str | None = None) -> Membership:
    """Restores access; someone deactivated before they ever joined gets a pending invite again
    (a new link by e-mail), as they have no account to restore."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.state == Membership.State.JOINED:
        return membership
    if membership.state == Membership.State.INVITED:
        raise MembershipStateError("This is a pending invite; it becomes active when accepted.")
    if membership.user_id is None:
        return invite_restore(membership=membership, actor=actor, ip_address=ip_address)
    membership.state = Membership.State.JOINED
    membership.deactivated_at = None
    membership.deactivated_by = None
    membership.save(update_fields=["state", "deactivated_at", "deactivated_by"])
    audit_record(action=AuditAction.MEMBERSHIP_REACTIVATE, actor=actor, target=membership, ip_address=ip_address)
    return membership


@transaction.atomic
def invite_deactivate(*, membership: Membership, actor=None, ip_address: str | None = None) -> Membership:
    """Deactivates a pending invite and keeps its row (the identity provider deprovisioned someone
    who had not joined yet): the link stops working and the Users tab shows Deactivated."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.state == Membership.State.DEACTIVATED:
        return membership
    if membership.state != Membership.State.INVITED:
        raise MembershipStateError("This person has joined; deactivate the membership instead.")
    Invite.objects.filter(membership=membership).delete()
    membership.state = Membership.State.DEACTIVATED
    membership.deactivated_at = timezone.now()
    membership.deactivated_by = actor if getattr(actor, "pk", None) else None
    membership.save(update_fields=["state", "deactivated_at", "deactivated_by"])
    audit_record(
        action=AuditAction.MEMBERSHIP_DEACTIVATE, actor=actor, target=membership, ip_address=ip_address, invite=True
    )
    return membership


def invite_restore(*, membership: Membership, actor, ip_address: str | None) -> Membership:
    """A deactivated, never-joined membership becomes a pending invite again, with a new link (the
    caller holds the row's lock)."""
    token, token_hash = _new_token()
    membership.state = Membership.State.INVITED
    membership.deactivated_at = None
    membership.deactivated_by = None
    membership.created_at = timezone.now()
    membership.save(update_fields=["state", "deactivated_at", "deactivated_by", "created_at"])
    invite, _ = Invite.objects.update_or_create(
        membership=membership,
        defaults={"token_hash": token_hash, "expires_at": _invite_expiry(), "sent_at": None, "send_attempts": 0},
    )
    audit_record(
        action=AuditAction.MEMBERSHIP_REACTIVATE, actor=actor, target=membership, ip_address=ip_address, invite=True
    )
    _queue_invite_email(invite, token)
    return membership


# --- invites -------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def _invite_expiry():
    return timezone.now() + timedelta(days=settings.ORGDASH_INVITE_TTL_DAYS)


def _queue_invite_email(invite: Invite, token: str) -> None:
    # The schema is captured now: the callback may run after the caller has left the tenant context.
    schema_name = connection.schema_name
    invite_id = invite.pk

    def queue():
        queue_task(
            "accounts.tasks.send_invite_email",
            kwargs={"invite_id": invite_id, "token": token},
            headers={"_schema_name": schema_name},
        )

    # robust: a broker outage must not fail the request; the invite stays pending and can be resent.
    transaction.on_commit(queue, robust=True)


def normalize_emails(emails) -> list[str]:
    """Stripped and lower-cased, in the order given (repeats kept: the caller says what it does
    with them); raises InvalidInput naming every invalid address."""
    if isinstance(emails, str):
        emails = [emails]
    cleaned, invalid = [], []
    for raw in emails:
        email = str(raw).strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            invalid.append(str(raw))
            continue
        cleaned.append(email)
    if invalid:
        names = ", ".join(f"'{email}'" for email in invalid)
        noun = "is not a valid e-mail address" if len(invalid) == 1 else "are not valid e-mail addresses"
        raise InvalidInput(errors={"emails": [f"{names} {noun}; no invites were sent."]})
    if not cleaned:
        raise InvalidInput(errors={"emails": ["Give at least one e-mail address."]})
    if len(set(cleaned)) > MAX_INVITES_PER_REQUEST:  # a repeat is skipped, so it costs nothing
        raise InvalidInput(errors={"emails": [f"At most {MAX_INVITES_PER_REQUEST} addresses at once."]})
    return cleaned


DUPLICATE_IN_REQUEST = "A duplicate in this request (e-mail addresses ignore case): handled once."


def _skip_reason(existing: Membership) -> str:
    if existing.state == Membership.State.INVITED:
        return "An invite is already pending for this address."
    if existing.state == Membership.State.DEACTIVATED:
        return "This person is a deactivated member; reactivate them instead."
    return "This person is already a member."


@transaction.atomic
def invite_create(*, emails, role: str = Role.MEMBER, actor=None, ip_address: str | None = None) -> InviteResult:
    """Invites every address that is not already a member or invited; all or nothing on bad input."""
    if role not in Role.values:
        raise InvalidInput(errors={"role": [f"'{role}' is not a role; use one of {', '.join(Role.values)}."]})
    emails = normalize_emails(emails)
    existing = memberships_by_email(emails)
    result = InviteResult()
    now = timezone.now()
    seen: set[str] = set()
    for email in emails:
        if email in seen:  # listed in the answer, so every address given is accounted for
            result.skipped.append({"email": email, "reason": DUPLICATE_IN_REQUEST})
            continue
        seen.add(email)
        if email in existing:
            result.skipped.append({"email": email, "reason": _skip_reason(existing[email])})
            continue
        token, token_hash = _new_token()
        try:
            with transaction.atomic():  # a concurrent invite of the same address loses the race cleanly
                membership = Membership.objects.create(
                    email=email,
                    role=role,
                    state=Membership.State.INVITED,
                    created_at=now,
                    invited_by=actor if getattr(actor, "pk", None) else None,
                    invited_by_email=getattr(actor, "email", None) or None,
                )
                invite = Invite.objects.create(
                    membership=membership, token_hash=token_hash, expires_at=_invite_expiry()
                )
        except IntegrityError:
            result.skipped.append({"email": email, "reason": "An invite is already pending for this address."})
            continue
        audit_record(action=AuditAction.INVITE_CREATE, actor=actor, target=membership, ip_address=ip_address, role=role)
        _queue_invite_email(invite, token)
        result.invited.append(membership)
        result.tokens[membership.pk] = token
    return result


def _pending_invite_locked(membership_pk: int) -> Membership:
    membership = Membership.objects.select_for_update().filter(pk=membership_pk).first()
    if membership is None or membership.state != Membership.State.INVITED:
        raise InviteNotPending()
    return membership


@transaction.atomic
def invite_resend(*, membership: Membership, actor=None, ip_address: str | None = None) -> tuple[Membership, str]:
    """A new link (and a fresh expiry); the old link stops working. Returns the membership and the token."""
    membership = _pending_invite_locked(membership.pk)
    token, token_hash = _new_token()
    invite, _ = Invite.objects.update_or_create(
        membership=membership,
        defaults={
            "token_hash": token_hash,
            "expires_at": _invite_expiry(),
            "sent_at": None,
            "send_attempts": 0,
            "last_send_error": "",
        },
    )
    # "Added" of a pending invite is when it was (last) sent.
    membership.created_at = timezone.now()
    membership.save(update_fields=["created_at"])
    audit_record(action=AuditAction.INVITE_RESEND, actor=actor, target=membership, ip_address=ip_address)
    _queue_invite_email(invite, token)
    return membership, token


@transaction.atomic
def invite_cancel(*, membership: Membership, actor=None, ip_address: str | None = None) -> None:
    membership = _pending_invite_locked(membership.pk)
    audit_record(action=AuditAction.INVITE_CANCEL, actor=actor, target=membership, ip_address=ip_address)
    membership.delete()  # the Invite row goes with it (cascade); the audit row keeps the address


def invite_for_token(token: str) -> Invite:
    """The pending invite of a token, or InviteInvalid ('unknown' or 'expired')."""
    invite = Invite.objects.select_related("membership").filter(token_hash=hash_token(token)).first()
    if invite is None or invite.membership.state != Membership.State.INVITED:
        raise InviteInvalid("unknown")
    if invite.is_expired:
        raise InviteInvalid("expired")
    return invite


@transaction.atomic
def invite_accept(
    *, token: str, user=None, name: str = "", password: str | None = None, ip_address: str | None = None
) -> Membership:
    """Turns the pending invite into a joined membership of ``user`` (an existing account whose
    password the caller has checked) or of a new account made from ``name`` and ``password``.

    The invite row is locked, and deleted on success: of two simultaneous accepts the second waits,
    then finds no invite and gets InviteInvalid('unknown').
    """
    invite = (
        Invite.objects.select_for_update().select_related("membership").filter(token_hash=hash_token(token)).first()
    )
    if invite is None or invite.membership.state != Membership.State.INVITED:
        raise InviteInvalid("unknown")
    if invite.is_expired:
        raise InviteInvalid("expired")
    membership = invite.membership
    if user is None:
        if get_user_model().objects.filter(email__iexact=membership.email).exists():
            raise InviteInvalid("account_exists")
        user, _ = user_get_or_create(email=membership.email, password=password, name=name.strip())
    elif user.email.lower() != membership.email.lower():
        raise InviteInvalid("unknown")
    if Membership.objects.filter(user=user).exists():
        raise InviteInvalid("already_member")
    now = timezone.now()
    membership.user = user
    membership.email = user.email
    membership.username = user.username
    membership.name = user.name
    membership.state = Membership.State.JOINED
    membership.joined_at = now
    membership.save(update_fields=["user", "email", "username", "name", "state", "joined_at"])
    invite.delete()
    audit_record(
        action=AuditAction.INVITE_ACCEPT, actor=user, target=membership, ip_address=ip_address, role=membership.role
    )
    return membership


@transaction.atomic
def invite_record_delivery(*, invite_id: int, error: str = "") -> None:
    """Counts a send attempt of the invite e-mail and remembers its outcome (no audit: not an admin action)."""
    invite = Invite.objects.select_for_update().filter(pk=invite_id).first()
    if invite is None:
        return
    invite.send_attempts += 1
    invite.last_send_error = error[:2000]
    if not error:
        invite.sent_at = timezone.now()
    invite.save(update_fields=["send_attempts", "last_send_error", "sent_at"])


# --- API keys ------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(
    *, membership: Membership | None, label: str = "", actor=None, ip_address: str | None = None
) -> tuple[ApiKey, str]:
    """A new key; the secret is returned once and only its hash is stored. ``membership=None``
    makes an org-level service key that can only report activity."""
    secret, prefix, key_hash = generate_api_key()
    kind = ApiKey.Kind.PERSONAL if membership is not None else ApiKey.Kind.SERVICE
    api_key = ApiKey.objects.create(
        kind=kind, membership=membership, label=label[:100], prefix=prefix, key_hash=key_hash
    )
    audit_record(
        action=AuditAction.API_KEY_CREATE,
        actor=actor,
        target=membership,
        ip_address=ip_address,
        kind=kind,
        prefix=prefix,
    )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor=None, ip_address: str | None = None) -> ApiKey:
    api_key = ApiKey.objects.select_for_update(of=("self",)).select_related("membership").get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    audit_record(
        action=AuditAction.API_KEY_REVOKE,
        actor=actor,
        target=api_key.membership,
        ip_address=ip_address,
        prefix=api_key.prefix,
    )
    return api_key


def export_audit(*, actor=None, ip_address: str | None = None, filters: dict) -> AuditEvent:
    return audit_record(action=AuditAction.USERS_EXPORT, actor=actor, ip_address=ip_address, **filters)


# --- SCIM token ----------------------------------------------------------------------------


@transaction.atomic
def scim_token_rotate(*, label: str = "", actor=None, ip_address: str | None = None) -> tuple[ApiKey, str]:
    """A new SCIM provisioning token for the current org; any previous one stops working. The
    secret is returned once and only its hash is stored."""
    previous = list(
        ApiKey.objects.select_for_update().filter(kind=ApiKey.Kind.SCIM, revoked_at__isnull=True).order_by("id")
    )
    now = timezone.now()
    for api_key in previous:
        api_key.revoked_at = now
        api_key.save(update_fields=["revoked_at"])
    secret, prefix, key_hash = generate_api_key()
    api_key = ApiKey.objects.create(
        kind=ApiKey.Kind.SCIM, label=(label or "SCIM provisioning")[:100], prefix=prefix, key_hash=key_hash
    )
    audit_record(
        action=AuditAction.SCIM_TOKEN_ROTATE if previous else AuditAction.SCIM_TOKEN_CREATE,
        actor=actor,
        ip_address=ip_address,
        prefix=prefix,
        revoked=[old.prefix for old in previous],
    )
    return api_key, secret
