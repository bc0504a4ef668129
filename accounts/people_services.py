"""Writes on many people at once (bulk actions) and on one's own profile.

Bulk actions apply the same rules as the one-person services in ``accounts.services`` (the last
active admin is kept, an invite is not deactivated, ...), but set-based: the rows are locked once,
changed with one UPDATE per action and audited with one bulk INSERT (one row per person changed).
The exception is reactivating someone deactivated before they joined: each gets a new invite
through the one-person service (rare, and each sends an e-mail anyway). Each person is decided on
their own; whoever cannot be changed is skipped with a reason.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from accounts.audit_services import audit_record, audit_record_many
from accounts.models import AuditAction, Invite, Membership, Role
from accounts.services import (
    LAST_ADMIN_MESSAGE,
    _invite_expiry,
    _new_token,
    _queue_invite_email,
    invite_restore,
    memberships_lock,
)
from orgdash.core.models import Organization
from orgdash.errors import InvalidInput

MAX_BULK_IDS = 1000


class BulkAction:
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    SET_ROLE = "set_role"
    RESEND_INVITE = "resend_invite"
    CANCEL_INVITE = "cancel_invite"
    CHOICES = (DEACTIVATE, REACTIVATE, SET_ROLE, RESEND_INVITE, CANCEL_INVITE)


class SkipReason:
    UNKNOWN = "No such person in this organization."
    LAST_ADMIN = LAST_ADMIN_MESSAGE
    INVITE_NOT_DEACTIVATED = "This is a pending invite; cancel the invite instead."
    INVITE_NOT_REACTIVATED = "This is a pending invite; it becomes active when accepted."
    ALREADY_DEACTIVATED = "Already deactivated."
    ALREADY_ACTIVE = "Not deactivated."
    SAME_ROLE = "Already has this role."
    NOT_AN_INVITE = "Not a pending invite."
    YOURSELF = "This is you: change your own access from your own row, where it is confirmed on its own."


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def skip(self, pk: int, reason: str) -> None:
        self.skipped.append({"id": pk, "reason": reason})


def _validate(*, action: str, ids, role: str | None) -> list[int]:
    if action not in BulkAction.CHOICES:
        raise InvalidInput(
            errors={"action": [f"'{action}' is not an action; use one of {', '.join(BulkAction.CHOICES)}."]}
        )
    if action == BulkAction.SET_ROLE and role not in Role.values:
        raise InvalidInput(errors={"role": [f"'{role}' is not a role; use one of {', '.join(Role.values)}."]})
    if not isinstance(ids, list | tuple) or not ids:
        raise InvalidInput(errors={"ids": ["Give at least one id."]})
    if len(ids) > MAX_BULK_IDS:
        raise InvalidInput(errors={"ids": [f"At most {MAX_BULK_IDS} ids at once."]})
    if not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in ids):
        raise InvalidInput(errors={"ids": ["Every id must be a whole number."]})
    return list(dict.fromkeys(ids))


def _admins_left() -> int:
    return Membership.objects.filter(state=Membership.State.JOINED, role=Role.ADMIN).count()


def _in_order(ids: list[int], actor) -> list[int]:
    """The actor's own row last: when the admins run out, the one kept is the person acting."""
    own = [pk for pk in ids if _is_actor(pk, actor)]
    return [pk for pk in ids if pk not in own] + own


def _is_actor(pk: int, actor) -> bool:
    membership = getattr(actor, "membership", None)
    return membership is not None and membership.pk == pk


@transaction.atomic
def membership_bulk(
    *, action: str, ids, role: str | None = None, actor=None, ip_address: str | None = None
) -> BulkResult:
    """Applies ``action`` to each of ``ids`` (membership ids, 1 to 1,000); returns who was changed
    and who was skipped and why. Idempotent: a second run skips everyone already changed."""
    ids = _validate(action=action, ids=ids, role=role)
    rows = memberships_lock(ids=ids, admins=action in (BulkAction.DEACTIVATE, BulkAction.SET_ROLE))
    result = BulkResult()
    for pk in ids:
        if pk not in rows:
            result.skip(pk, SkipReason.UNKNOWN)
    known = _in_order([pk for pk in ids if pk in rows], actor)
    handler = {
        BulkAction.DEACTIVATE: _bulk_deactivate,
        BulkAction.REACTIVATE: _bulk_reactivate,
        BulkAction.SET_ROLE: _bulk_set_role,
        BulkAction.RESEND_INVITE: _bulk_resend,
        BulkAction.CANCEL_INVITE: _bulk_cancel,
    }[action]
    changed = handler(
        memberships=[rows[pk] for pk in known], result=result, role=role, actor=actor, ip_address=ip_address
    )
    done = {membership.pk for membership in changed}
    result.done = [pk for pk in ids if pk in done]
    return result


def _bulk_deactivate(*, memberships, result, actor, ip_address, **_) -> list[Membership]:
    admins_left = _admins_left()
    changing = []
    for membership in memberships:
        if membership.state == Membership.State.INVITED:
            result.skip(membership.pk, SkipReason.INVITE_NOT_DEACTIVATED)
        elif membership.state == Membership.State.DEACTIVATED:
            result.skip(membership.pk, SkipReason.ALREADY_DEACTIVATED)
        elif membership.is_admin and admins_left <= 1:
            result.skip(membership.pk, SkipReason.LAST_ADMIN)
        elif _is_actor(membership.pk, actor):  # one click among many must not lock the actor out
            result.skip(membership.pk, SkipReason.YOURSELF)
        else:
            admins_left -= membership.is_admin
            changing.append(membership)
    if changing:
        # Access ends at once: authentication checks the state on every request (sessions and keys).
        Membership.objects.filter(pk__in=[m.pk for m in changing]).update(
            state=Membership.State.DEACTIVATED,
            deactivated_at=timezone.now(),
            deactivated_by=actor if getattr(actor, "pk", None) else None,
        )
        audit_record_many(
            action=AuditAction.MEMBERSHIP_DEACTIVATE, actor=actor, targets=changing, ip_address=ip_address
        )
    return changing


def _bulk_reactivate(*, memberships, result, actor, ip_address, **_) -> list[Membership]:
    changing, invites_again = [], []
    for membership in memberships:
        if membership.state == Membership.State.INVITED:
            result.skip(membership.pk, SkipReason.INVITE_NOT_REACTIVATED)
        elif membership.state == Membership.State.JOINED:
            result.skip(membership.pk, SkipReason.ALREADY_ACTIVE)
        elif membership.user_id is None:  # deactivated before joining: no account to restore
            invites_again.append(membership)
        else:
            changing.append(membership)
    for membership in invites_again:  # each gets a new link by e-mail, as from their own row
        invite_restore(membership=membership, actor=actor, ip_address=ip_address)
    if changing:
        Membership.objects.filter(pk__in=[m.pk for m in changing]).update(
            state=Membership.State.JOINED, deactivated_at=None, deactivated_by=None
        )
        audit_record_many(
            action=AuditAction.MEMBERSHIP_REACTIVATE, actor=actor, targets=changing, ip_address=ip_address
        )
    return changing + invites_again


def _bulk_set_role(*, memberships, result, role, actor, ip_address) -> list[Membership]:
    admins_left = _admins_left()
    by_previous: dict[str, list[Membership]] = {}
    for membership in memberships:
        if membership.role == role:
            result.skip(membership.pk, SkipReason.SAME_ROLE)
        elif role != Role.ADMIN and membership.is_admin and admins_left <= 1:
            result.skip(membership.pk, SkipReason.LAST_ADMIN)
        elif _is_actor(membership.pk, actor):  # only an admin acts, so this is stepping down
            result.skip(membership.pk, SkipReason.YOURSELF)
        else:
            admins_left -= role != Role.ADMIN and membership.is_admin
            by_previous.setdefault(membership.role, []).append(membership)
    changing = [membership for group in by_previous.values() for membership in group]
    if changing:
        Membership.objects.filter(pk__in=[m.pk for m in changing]).update(role=role)
        for previous, group in by_previous.items():
            audit_record_many(
                action=AuditAction.MEMBERSHIP_CHANGE_ROLE,
                actor=actor,
                targets=group,
                ip_address=ip_address,
                old=previous,
                new=role,
            )
    return changing


def _bulk_resend(*, memberships, result, actor, ip_address, **_) -> list[Membership]:
    changing = [m for m in memberships if m.state == Membership.State.INVITED]
    for membership in memberships:
        if membership.state != Membership.State.INVITED:
            result.skip(membership.pk, SkipReason.NOT_AN_INVITE)
    if not changing:
        return []
    now, expires_at = timezone.now(), _invite_expiry()
    existing = {invite.membership_id: invite for invite in Invite.objects.filter(membership__in=changing)}
    tokens, updated, created = {}, [], []
    for membership in changing:
        token, token_hash = _new_token()
        tokens[membership.pk] = token
        invite = existing.get(membership.pk) or Invite(membership=membership)
        invite.token_hash, invite.expires_at = token_hash, expires_at
        invite.sent_at, invite.send_attempts, invite.last_send_error = None, 0, ""
        (updated if invite.pk else created).append(invite)
    # A new link and expiry each; the old links stop working.
    Invite.objects.bulk_update(updated, ["token_hash", "expires_at", "sent_at", "send_attempts", "last_send_error"])
    Invite.objects.bulk_create(created)
    # "Added" of a pending invite is when it was (last) sent.
    Membership.objects.filter(pk__in=[m.pk for m in changing]).update(created_at=now)
    audit_record_many(action=AuditAction.INVITE_RESEND, actor=actor, targets=changing, ip_address=ip_address)
    for invite in [*updated, *created]:
        _queue_invite_email(invite, tokens[invite.membership_id])
    return changing


def _bulk_cancel(*, memberships, result, actor, ip_address, **_) -> list[Membership]:
    changing = [m for m in memberships if m.state == Membership.State.INVITED]
    for membership in memberships:
        if membership.state != Membership.State.INVITED:
            result.skip(membership.pk, SkipReason.NOT_AN_INVITE)
    if changing:
        audit_record_many(action=AuditAction.INVITE_CANCEL, actor=actor, targets=changing, ip_address=ip_address)
        # The audit rows keep the address; their target link is cleared with the row (SET NULL).
        Membership.objects.filter(pk__in=[m.pk for m in changing]).delete()
    return changing


def expired_invite_ids() -> list[int]:
    """Pending invites whose link has expired (for "resend all expired invites")."""
    return list(
        Membership.objects.filter(state=Membership.State.INVITED, invite__expires_at__lte=timezone.now())
        .order_by("id")
        .values_list("id", flat=True)[:MAX_BULK_IDS]
    )


# --- one's own profile -----------------------------------------------------------------------


def identity_copy_to_every_org(*, user) -> None:
    """Writes the person's e-mail, name and username into their membership in every org (the
    Users list searches and sorts these copies), in one statement per batch of schemas. Only rows
    that differ are written, so orgs the person is not in cost an index probe each."""
    schemas = list(Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    for start in range(0, len(schemas), 200):
        parts = [
            sql.SQL(
                "u{n} AS (UPDATE {table} SET email = %(email)s, name = %(name)s, username = %(username)s "
                "WHERE user_id = %(user)s AND (email IS DISTINCT FROM %(email)s OR name IS DISTINCT FROM %(name)s "
                "OR username IS DISTINCT FROM %(username)s) RETURNING 1)"
            ).format(n=sql.SQL(str(n)), table=sql.Identifier(schema, Membership._meta.db_table))
            for n, schema in enumerate(schemas[start : start + 200])
        ]
        statement = sql.SQL("WITH {} SELECT 1").format(sql.SQL(", ").join(parts))
        with connection.cursor() as cursor:
            cursor.execute(
                statement.as_string(cursor.connection),
                {"email": user.email, "name": user.name, "username": user.username, "user": user.pk},
            )


@transaction.atomic
def profile_update(*, user, name: str | None = None, username: str | None = None, ip_address: str | None = None):
    """Changes the person's own name and/or username (usernames are unique across the instance)
    and shows the change in every org they belong to at once."""
    User = get_user_model()
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    changes = {}
    if name is not None and name.strip() != user.name:
        changes["name"] = name.strip()
    if username is not None and username.strip() != user.username:
        username = username.strip()
        if not username:
            raise InvalidInput(errors={"username": ["A username is required."]})
        if User.objects.filter(username__iexact=username).exclude(pk=user.pk).exists():
            raise InvalidInput(errors={"username": [f"The username '{username}' is taken."]})
        changes["username"] = username
    if not changes:
        return user
    old = {key: getattr(user, key) for key in changes}
    for key, value in changes.items():
        setattr(user, key, value)
    user.save(update_fields=list(changes))
    identity_copy_to_every_org(user=user)
    membership = Membership.objects.filter(user=user).first()
    audit_record(
        action=AuditAction.PROFILE_UPDATE, actor=user, target=membership, ip_address=ip_address, old=old, new=changes
    )
    return user


@transaction.atomic
def password_change(*, user, password: str, ip_address: str | None = None) -> None:
    """Sets a new password (the caller has checked the current one and the password rules)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    membership = Membership.objects.filter(user=user).first()
    audit_record(action=AuditAction.PROFILE_PASSWORD_CHANGE, actor=user, target=membership, ip_address=ip_address)
