"""Tenant (org schema) models: who belongs to the org, invites, API keys and the audit trail."""

from enum import StrEnum

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Concat, Lower, Upper
from django.utils import timezone

# Columns the Users list can be ordered by (API ``ordering`` name -> column). Each gets two btree
# indexes, (key ASC NULLS LAST, id) and (key DESC NULLS LAST, id), so the first page of any
# ordering is an index scan; ties always break by ascending id.
ORDERABLE_COLUMNS = {
    "last_active": "last_active",
    "name": "name",
    "email": "email",
    "role": "role",
    "added": "created_at",
    "days_active": "days_active",
}
# The Users search matches a substring of any of these, case-insensitively. It runs on one stored
# column, ``search_text`` (the three upper-cased, joined by SEARCH_SEPARATOR), with a trigram index:
# one index scan instead of three, and a term too short for trigrams scans one precomputed column
# instead of calling UPPER() three times per row.
SEARCHABLE_COLUMNS = ("email", "username", "name")
SEARCH_SEPARATOR = "\n"  # a term without it cannot match across two columns (terms with it are rare)


def ordering_key(column: str):
    """What a column sorts by: names case-insensitively (the database's collation may be bytewise)."""
    return Lower(column) if column == "name" else F(column)


def _ordering_indexes() -> list[models.Index]:
    indexes = []
    for column in ORDERABLE_COLUMNS.values():
        short = column.replace("_", "")[:10]
        if column == "name":
            short = "lowername"
        key = ordering_key(column)
        indexes.append(models.Index(key.asc(nulls_last=True), F("id").asc(), name=f"membership_{short}_asc"))
        indexes.append(models.Index(key.desc(nulls_last=True), F("id").asc(), name=f"membership_{short}_desc"))
    return indexes


def _search_text() -> Upper:
    parts = []
    for column in SEARCHABLE_COLUMNS:
        parts += [F(column), Value(SEARCH_SEPARATOR)]
    return Upper(Concat(*parts[:-1], output_field=models.TextField()))  # Concat turns NULL into ''


def _search_indexes() -> list[GinIndex]:
    return [GinIndex(OpClass(F("search_text"), name="gin_trgm_ops"), name="membership_search_trgm")]


# A username chosen in a profile: no "@", so a name with one is always an e-mail address (as
# activity ingestion reads it).
USERNAME_PATTERN = r"^[A-Za-z0-9_.+-]+\Z"
USERNAME_HINT = "A username may hold letters, digits and . + - _ only (not @: that reads as an e-mail address)."


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Status(models.TextChoices):
    """The status shown in the Users tab; derived from a membership's state and activity."""

    INVITE_PENDING = "invite_pending", "Invite pending"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "-"
    DEACTIVATED = "deactivated", "Deactivated"


STATUS_ORDER = [Status.INVITE_PENDING, Status.ACTIVE, Status.INACTIVE, Status.DEACTIVATED]


class Membership(models.Model):
    """One row per member or pending invite of the org (the rows of the Users tab).

    ``email``, ``username`` and ``name`` are copied from the user so that search and sorting of a
    100,000-member org run on one indexed table; ``accounts.services`` keeps them in step.
    """

    class State(models.TextChoices):
        INVITED = "invited", "Invited"
        JOINED = "joined", "Joined"
        DEACTIVATED = "deactivated", "Deactivated"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email = models.EmailField()
    username = models.CharField(max_length=150, blank=True, null=True)
    name = models.CharField(max_length=200, blank=True, null=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    state = models.CharField(max_length=16, choices=State.choices, default=State.JOINED)
    created_at = models.DateTimeField(default=timezone.now, help_text="When the user was added.")
    joined_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_by_email = models.EmailField(blank=True, null=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_active = models.DateTimeField(null=True, blank=True)
    days_active = models.PositiveIntegerField(default=0)
    search_text = models.GeneratedField(expression=_search_text(), output_field=models.TextField(), db_persist=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user"], name="membership_one_per_user"),
            models.UniqueConstraint(
                models.functions.Lower("email"),
                condition=models.Q(state="invited"),
                name="membership_one_pending_invite_per_email",
            ),
            # A person provisioned by SCIM and deactivated before accepting the invite has no user.
            models.CheckConstraint(
                condition=models.Q(state__in=["invited", "deactivated"]) | models.Q(user__isnull=False),
                name="membership_joined_has_user",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "role"], name="membership_state_role"),
            # Pages of one state in id order (the status ordering reads invites and deactivated people so).
            models.Index(fields=["state", "id"], name="membership_state_id"),
            *_ordering_indexes(),
            *_search_indexes(),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role}, {self.state})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN and self.state == self.State.JOINED


# A failed invite e-mail is tried again this many times, with backoff (accounts.tasks).
INVITE_SEND_RETRIES = 5


class Invite(models.Model):
    """The secret link of a pending membership. Only the token's hash is stored."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="invite")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    last_send_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"invite for {self.membership.email}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class ApiKey(models.Model):
    """A secret for ``Authorization: Bearer``. Personal keys act as their member; service keys
    (no membership) can only report activity through the ingestion endpoint; the SCIM token (no
    membership, at most one live per org) works only under ``/scim/v2/``."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal"
        SERVICE = "service", "Service (ingestion only)"
        SCIM = "scim", "SCIM provisioning"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PERSONAL)
    membership = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["service", "scim"]) | models.Q(membership__isnull=False),
                name="apikey_personal_has_membership",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.kind})"


class AuditAction(StrEnum):
    """What an audit row records. The values are stored, filtered on and shown as they are."""

    MEMBERSHIP_ADD = "membership.add"
    MEMBERSHIP_CHANGE_ROLE = "membership.change_role"
    MEMBERSHIP_CHANGE_EMAIL = "membership.change_email"
    MEMBERSHIP_DEACTIVATE = "membership.deactivate"
    MEMBERSHIP_REACTIVATE = "membership.reactivate"
    INVITE_CREATE = "invite.create"
    INVITE_RESEND = "invite.resend"
    INVITE_CANCEL = "invite.cancel"
    INVITE_ACCEPT = "invite.accept"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    SCIM_TOKEN_CREATE = "scim_token.create"  # noqa: S105 (an action name, not a secret)
    SCIM_TOKEN_ROTATE = "scim_token.rotate"  # noqa: S105 (an action name, not a secret)
    SCIM_PROVISION = "scim.provision"
    SCIM_UPDATE = "scim.update"
    SCIM_DELETE = "scim.delete"
    PROFILE_UPDATE = "profile.update"
    PROFILE_PASSWORD_CHANGE = "profile.password_change"  # noqa: S105 (an action name, not a secret)
    PASSWORD_RESET_REQUEST = "password.reset_request"  # noqa: S105 (an action name, not a secret)
    PASSWORD_RESET = "password.reset"  # noqa: S105 (an action name, not a secret)
    LOGIN_LOCKED = "login.locked"
    LOGIN_UNLOCKED = "login.unlocked"
    LOGIN_ADDRESS_SLOWED = "login.address_slowed"
    USERS_EXPORT = "users.export"
    AUDIT_EXPORT = "audit.export"
    STAFF_VIEW_ORG = "staff.view_org"
    DORMANCY_WARN = "dormancy.warn"
    DORMANCY_KEEP_ACCESS = "dormancy.keep_access"
    DORMANCY_UPDATE_POLICY = "dormancy.update_policy"
    REPORTS_UPDATE_SETTINGS = "reports.update_settings"
    REPORTS_SEND = "reports.send"
    REPORTS_SEND_NOW = "reports.send_now"
    DEMO_SEEDED = "demo_seeded"


# What people read for each action (the stored codes stay in the API, the CSV and the filter's values).
AUDIT_ACTION_LABELS = {
    AuditAction.MEMBERSHIP_ADD: "Added to the organization",
    AuditAction.MEMBERSHIP_CHANGE_ROLE: "Role changed",
    AuditAction.MEMBERSHIP_CHANGE_EMAIL: "E-mail changed",
    AuditAction.MEMBERSHIP_DEACTIVATE: "Deactivated",
    AuditAction.MEMBERSHIP_REACTIVATE: "Reactivated",
    AuditAction.INVITE_CREATE: "Invited",
    AuditAction.INVITE_RESEND: "Invite resent",
    AuditAction.INVITE_CANCEL: "Invite cancelled",
    AuditAction.INVITE_ACCEPT: "Joined (invite accepted)",
    AuditAction.API_KEY_CREATE: "API key created",
    AuditAction.API_KEY_REVOKE: "API key revoked",
    AuditAction.SCIM_TOKEN_CREATE: "SCIM token created",
    AuditAction.SCIM_TOKEN_ROTATE: "SCIM token rotated",
    AuditAction.SCIM_PROVISION: "Provisioned by the identity provider",
    AuditAction.SCIM_UPDATE: "Updated by the identity provider",
    AuditAction.SCIM_DELETE: "Removed by the identity provider",
    AuditAction.PROFILE_UPDATE: "Profile updated",
    AuditAction.PROFILE_PASSWORD_CHANGE: "Password changed",
    AuditAction.PASSWORD_RESET_REQUEST: "Password reset requested",
    AuditAction.PASSWORD_RESET: "Password reset",
    AuditAction.LOGIN_LOCKED: "Log-in locked",
    AuditAction.LOGIN_UNLOCKED: "Log-in unlocked",
    AuditAction.LOGIN_ADDRESS_SLOWED: "Log-ins from an address slowed",
    AuditAction.USERS_EXPORT: "Users exported",
    AuditAction.AUDIT_EXPORT: "Audit log exported",
    AuditAction.STAFF_VIEW_ORG: "Viewed by support staff",
    AuditAction.DORMANCY_WARN: "Warned of losing access (dormant)",
    AuditAction.DORMANCY_KEEP_ACCESS: "Kept access (dormant)",
    AuditAction.DORMANCY_UPDATE_POLICY: "Dormancy policy changed",
    AuditAction.REPORTS_UPDATE_SETTINGS: "Report settings changed",
    AuditAction.REPORTS_SEND: "Report sent",
    AuditAction.REPORTS_SEND_NOW: "Report sent on request",
    AuditAction.DEMO_SEEDED: "Demo data added",
}


def audit_action_label(action: str) -> str:
    """The readable name of a stored action; a code no longer in use reads as itself."""
    return AUDIT_ACTION_LABELS.get(action, action)


class SystemActor(StrEnum):
    """Actors that are not a person, shown in the actor column: the identity provider's
    provisioning and the org's own policies (dormancy, log-in protection, reports)."""

    SCIM = "scim"
    POLICY = "policy"
    DEMO = "seed_demo"  # the demo data set-up (development only)


class AuditEvent(models.Model):
    """An append-only record of what an admin or support engineer did in this org."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_repr = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_email} {self.action} {self.target_repr}"

    @property
    def action_label(self) -> str:
        return audit_action_label(self.action)

    @property
    def details(self) -> str:
        """The change in words: "member → viewer", "name: Ann → Anna", "as member", "key od_ab12…"."""
        data = self.data or {}
        old, new = data.get("old"), data.get("new")
        if isinstance(old, dict) or isinstance(new, dict):
            old, new = old or {}, new or {}
            changed = [key for key in {**old, **new} if old.get(key) != new.get(key)]
            return "; ".join(f"{key}: {old.get(key) or '—'} → {new.get(key) or '—'}" for key in changed)
        if old is not None or new is not None:
            return f"{old if old is not None else '—'} → {new if new is not None else '—'}"
        if data.get("role"):
            return f"as {data['role']}"
        if data.get("prefix"):
            return f"key {data['prefix']}…"
        return ""
