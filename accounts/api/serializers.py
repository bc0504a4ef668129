"""Input and output shapes of the accounts API (the User object of API.md and friends)."""

from datetime import UTC, datetime

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts import people_services
from accounts.models import USERNAME_HINT, USERNAME_PATTERN, ApiKey, Role, Status
from accounts.people_selectors import InviteDelivery, invite_delivery
from accounts.selectors import DEFAULT_ORDERING, ORDERINGS
from orgdash.api.query_parameters import QueryParametersInputSerializer, RepeatableCharField, WholeNumberField


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC with a ``Z``, whole seconds: ``2026-11-20T13:04:00Z``."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@extend_schema_field(OpenApiTypes.STR)
class StatusLabelField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs["source"] = "status"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return Status(value).label


@extend_schema_serializer(component_name="InviteDelivery")
class InviteDeliveryOutputSerializer(serializers.Serializer):
    """A pending invite's link expiry and e-mail delivery, from the membership (``source="*"``)."""

    expires_at = UtcDateTimeField(read_only=True, help_text="When the invite link stops working.")
    expired = serializers.BooleanField(read_only=True, help_text="The link has expired: resend the invite.")
    delivery = serializers.ChoiceField(
        choices=InviteDelivery.CHOICES,
        read_only=True,
        help_text="sending: no attempt has completed yet; sent: delivered to the mail server; "
        "failed: the last attempt failed (it is retried with backoff).",
    )
    send_attempts = serializers.IntegerField(read_only=True, help_text="Attempts to send the current link.")
    last_error = serializers.CharField(allow_null=True, read_only=True, help_text="Why the last attempt failed.")
    retrying = serializers.BooleanField(
        read_only=True, help_text="Failed, but another attempt is scheduled (false once the retries are used up)."
    )

    def to_representation(self, membership):
        if membership.status != Status.INVITE_PENDING:
            return None
        try:
            invite = membership.invite
        except ObjectDoesNotExist:
            return None
        return _invite_output(
            expires_at=invite.expires_at,
            sent_at=invite.sent_at,
            send_attempts=invite.send_attempts,
            last_send_error=invite.last_send_error,
            now=timezone.now(),
        )


@extend_schema_serializer(component_name="User")
class UserOutputSerializer(serializers.Serializer):
    """One row of the Users tab: a member or a pending invite (``id`` is the membership's id)."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(allow_null=True, read_only=True)
    name = serializers.CharField(allow_null=True, read_only=True)
    email = serializers.EmailField(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    status_label = StatusLabelField(help_text="Invite pending | Active | - | Deactivated")
    last_active = UtcDateTimeField(allow_null=True, read_only=True)
    added = UtcDateTimeField(source="created_at", read_only=True)
    days_active = serializers.IntegerField(read_only=True)
    invited_by = serializers.EmailField(source="invited_by_email", allow_null=True, read_only=True)
    deactivated_at = UtcDateTimeField(allow_null=True, read_only=True)
    invite = InviteDeliveryOutputSerializer(
        source="*",
        allow_null=True,
        read_only=True,
        help_text="Pending invites only (null otherwise): link expiry and e-mail delivery.",
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data["status"] == Status.INVITE_PENDING:
            # Not joined yet: no name or username of their own (one an identity provider sent
            # is kept for its SCIM resource).
            data["username"] = data["name"] = None
        return data


STATUS_LABELS = {status.value: status.label for status in Status}


def _utc_text(value) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _invite_output(**fields) -> dict:
    delivery = invite_delivery(**fields)
    return {**delivery, "expires_at": _utc_text(delivery["expires_at"])}


def _row_invite(row: dict, now: datetime) -> dict | None:
    if row["status"] != Status.INVITE_PENDING or row["invite__expires_at"] is None:
        return None
    return _invite_output(
        expires_at=row["invite__expires_at"],
        sent_at=row["invite__sent_at"],
        send_attempts=row["invite__send_attempts"],
        last_send_error=row["invite__last_send_error"],
        now=now,
    )


def user_representation(row: dict, *, now: datetime | None = None) -> dict:
    """The User object of a ``values()`` row of ``selectors.USER_FIELDS``: what ``UserOutputSerializer``
    writes, spelled out. The Users list writes up to 500 of these per request, and DRF's per-field
    machinery was most of that request's Python time."""
    status = row["status"]
    now = now or timezone.now()
    pending = status == Status.INVITE_PENDING
    return {
        "id": row["id"],
        "username": None if pending else row["username"],
        "name": None if pending else row["name"],
        "email": row["email"],
        "role": row["role"],
        "status": status,
        "status_label": STATUS_LABELS[status],
        "last_active": _utc_text(row["last_active"]),
        "added": _utc_text(row["created_at"]),
        "days_active": row["days_active"],
        "invited_by": row["invited_by_email"],
        "deactivated_at": _utc_text(row["deactivated_at"]),
        "invite": _row_invite(row, now),
    }


@extend_schema_serializer(component_name="UserPage")
class UserPageOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = UserOutputSerializer(many=True)


_STATUS_CODE = f"({'|'.join(Status.values)})"
# What the schema publishes for ``status``: one code or several, comma-separated (``allow_blank``
# adds the empty string: no filter).
STATUS_LIST_PATTERN = f"^{_STATUS_CODE}(,{_STATUS_CODE})*$"


@extend_schema_field({"type": "string", "pattern": STATUS_LIST_PATTERN, "example": "active,inactive"})
class StatusListField(RepeatableCharField):
    """``status=active``, ``status=active,inactive`` or ``status=active&status=inactive``."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        codes = [code.strip() for code in text.split(",") if code.strip()]
        unknown = [code for code in codes if code not in Status.values]
        if unknown:
            raise serializers.ValidationError(
                f"Invalid status '{unknown[0]}': use one or more of {', '.join(Status.values)}, comma-separated."
            )
        return codes


MAX_PAGE_SIZE = 500


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE})
class PageSizeField(WholeNumberField):
    """``page_size``: the schema publishes 1-500; a larger value is clamped by the paginator, not
    refused (as the README documents), so only the lower bound is validated."""


class UserFilterInputSerializer(QueryParametersInputSerializer):
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        default="",
        error_messages={"max_length": "Invalid search: at most 200 characters."},
    )
    status = StatusListField(
        required=False,
        allow_blank=True,
        default=list,
        help_text=f"One or comma-separated status codes: {', '.join(Status.values)}.",
    )
    role = serializers.ChoiceField(
        choices=Role.choices,
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid_choice": f'Invalid role "{{input}}": use one of {", ".join(Role.values)}.'},
    )


class UserOrderingInputSerializer(UserFilterInputSerializer):
    ordering = serializers.ChoiceField(
        choices=ORDERINGS,
        required=False,
        allow_blank=True,
        default=DEFAULT_ORDERING,
        error_messages={"invalid_choice": f'Invalid ordering "{{input}}": use one of {", ".join(ORDERINGS)}.'},
    )


def _page_field() -> WholeNumberField:
    return WholeNumberField(
        required=False,
        min_value=1,
        help_text="1-based page number.",
        error_messages={
            "invalid": "Invalid page: give a whole number from 1.",
            "min_value": "Invalid page: pages start at 1.",
        },
    )


def _page_size_field() -> PageSizeField:
    return PageSizeField(
        required=False,
        min_value=1,
        help_text="Rows per page: default 50; larger values are capped at 500.",
        error_messages={
            "invalid": "Invalid page_size: give a whole number from 1 to 500.",
            "min_value": "Invalid page_size: give a whole number from 1 to 500.",
        },
    )


class UserListInputSerializer(UserOrderingInputSerializer):
    page = _page_field()
    page_size = _page_size_field()


@extend_schema_serializer(component_name="UserCounts")
class UserCountsOutputSerializer(serializers.Serializer):
    invite_pending = serializers.IntegerField()
    active = serializers.IntegerField()
    inactive = serializers.IntegerField()
    deactivated = serializers.IntegerField()
    total = serializers.IntegerField()


@extend_schema_serializer(component_name="UserUpdate")
class UserUpdateInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=Role.choices,
        required=False,
        error_messages={"invalid_choice": f'Invalid role "{{input}}": use one of {", ".join(Role.values)}.'},
    )


@extend_schema_serializer(component_name="InviteCreate")
class InviteCreateInputSerializer(serializers.Serializer):
    emails = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=320), allow_empty=False, max_length=500
    )
    role = serializers.ChoiceField(
        choices=Role.choices,
        default=Role.MEMBER,
        error_messages={"invalid_choice": f'Invalid role "{{input}}": use one of {", ".join(Role.values)}.'},
    )


@extend_schema_serializer(component_name="SkippedInvite")
class SkippedInviteOutputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    reason = serializers.CharField()


@extend_schema_serializer(component_name="InviteResult")
class InviteResultOutputSerializer(serializers.Serializer):
    invited = UserOutputSerializer(many=True)
    skipped = SkippedInviteOutputSerializer(many=True)


@extend_schema_serializer(component_name="ApiKey")
class ApiKeyOutputSerializer(serializers.ModelSerializer):
    created_at = UtcDateTimeField(read_only=True)
    last_used_at = UtcDateTimeField(allow_null=True, read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "label", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="ApiKeyCreated")
class ApiKeyCreatedOutputSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown only in this response.")

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]
        read_only_fields = fields


@extend_schema_serializer(component_name="ApiKeyCreate")
class ApiKeyCreateInputSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class BulkInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=people_services.BulkAction.CHOICES,
        error_messages={
            "invalid_choice": f'Invalid action "{{input}}": use one of {", ".join(people_services.BulkAction.CHOICES)}.'
        },
    )
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=people_services.MAX_BULK_IDS,
        error_messages={
            "empty": "Give at least one id.",
            "min_length": "Give at least one id.",
            "max_length": f"At most {people_services.MAX_BULK_IDS} ids at once.",
        },
    )
    role = serializers.ChoiceField(
        choices=Role.choices,
        required=False,
        error_messages={"invalid_choice": f'Invalid role "{{input}}": use one of {", ".join(Role.values)}.'},
        help_text="set_role only: the new role.",
    )

    def validate(self, data):
        if data["action"] == people_services.BulkAction.SET_ROLE and "role" not in data:
            raise serializers.ValidationError({"role": ["set_role needs a role."]})
        return data


@extend_schema_serializer(component_name="BulkSkipped")
class BulkSkippedOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()


@extend_schema_serializer(component_name="BulkResult")
class BulkResultOutputSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField(), help_text="The people changed.")
    skipped = BulkSkippedOutputSerializer(many=True, help_text="The people left as they were, and why.")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text="Your membership's id in this organization.")
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(max_length=200, allow_blank=True, required=False, trim_whitespace=True)
    username = serializers.RegexField(
        USERNAME_PATTERN,
        max_length=150,
        min_length=1,
        required=False,
        error_messages={"invalid": USERNAME_HINT},
    )
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)


class AuditFilterInputSerializer(QueryParametersInputSerializer):
    action = RepeatableCharField(required=False, allow_blank=True, max_length=500)
    actor = serializers.CharField(required=False, allow_blank=True, max_length=254)
    target = serializers.CharField(required=False, allow_blank=True, max_length=254)
    since = serializers.DateField(required=False, input_formats=["iso-8601"])
    until = serializers.DateField(required=False, input_formats=["iso-8601"])

    def validate(self, attrs):
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": ["'until' must not be before 'since'."]})
        for key in ("action", "actor", "target"):
            if "\x00" in attrs.get(key, ""):
                raise serializers.ValidationError({key: ["Null characters are not allowed."]})
        return attrs


class AuditListInputSerializer(AuditFilterInputSerializer):
    """The filters, and the page (checked as the Users list checks its own)."""

    page = _page_field()
    page_size = _page_size_field()


@extend_schema_serializer(component_name="AuditEvent")
class AuditEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    time = serializers.DateTimeField(source="created_at")
    actor = serializers.CharField(source="actor_email")
    action = serializers.CharField()
    target = serializers.CharField(source="target_repr")
    target_id = serializers.IntegerField(source="target_membership_id", allow_null=True)
    ip_address = serializers.IPAddressField(allow_null=True)
    details = serializers.JSONField(source="data")


@extend_schema_serializer(component_name="AuditPage")
class AuditPageOutputSerializer(serializers.Serializer):
    """One page of the trail, shaped like the Users list."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AuditEventOutputSerializer(many=True)
