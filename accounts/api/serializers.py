"""Input and output shapes of the accounts API (the User object of API.md and friends)."""

from datetime import UTC

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiKey, Role, Status
from accounts.selectors import DEFAULT_ORDERING, ORDERINGS


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


class ErrorSerializer(serializers.Serializer):
    """The API's one error shape."""

    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field (400 only).",
    )


class UserSerializer(serializers.Serializer):
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


STATUS_LABELS = {status.value: status.label for status in Status}


def _utc_text(value) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_representation(row: dict) -> dict:
    """The User object of a ``values()`` row of ``selectors.USER_FIELDS``: what ``UserSerializer``
    writes, spelled out. The Users list writes up to 500 of these per request, and DRF's per-field
    machinery was most of that request's Python time."""
    status = row["status"]
    return {
        "id": row["id"],
        "username": row["username"],
        "name": row["name"],
        "email": row["email"],
        "role": row["role"],
        "status": status,
        "status_label": STATUS_LABELS[status],
        "last_active": _utc_text(row["last_active"]),
        "added": _utc_text(row["created_at"]),
        "days_active": row["days_active"],
        "invited_by": row["invited_by_email"],
        "deactivated_at": _utc_text(row["deactivated_at"]),
    }


class UserPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = UserSerializer(many=True)


class StatusListField(serializers.CharField):
    """``status=active`` or ``status=active,inactive``."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        codes = [code.strip() for code in text.split(",") if code.strip()]
        unknown = [code for code in codes if code not in Status.values]
        if unknown:
            raise serializers.ValidationError(
                f"Invalid status '{unknown[0]}': use one or more of {', '.join(Status.values)}, comma-separated."
            )
        return codes


class UserFilterSerializer(serializers.Serializer):
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


class UserOrderingSerializer(UserFilterSerializer):
    ordering = serializers.ChoiceField(
        choices=ORDERINGS,
        required=False,
        allow_blank=True,
        default=DEFAULT_ORDERING,
        error_messages={"invalid_choice": f'Invalid ordering "{{input}}": use one of {", ".join(ORDERINGS)}.'},
    )


class UserListParamsSerializer(UserOrderingSerializer):
    page = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="1-based page number.",
        error_messages={
            "invalid": "Invalid page: give a whole number from 1.",
            "min_value": "Invalid page: pages start at 1.",
        },
    )
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Rows per page: default 50; larger values are capped at 500.",
        error_messages={
            "invalid": "Invalid page_size: give a whole number from 1 to 500.",
            "min_value": "Invalid page_size: give a whole number from 1 to 500.",
        },
    )


class UserCountsSerializer(serializers.Serializer):
    invite_pending = serializers.IntegerField()
    active = serializers.IntegerField()
    inactive = serializers.IntegerField()
    deactivated = serializers.IntegerField()
    total = serializers.IntegerField()


class UserUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=Role.choices,
        required=False,
        error_messages={"invalid_choice": f'Invalid role "{{input}}": use one of {", ".join(Role.values)}.'},
    )


class InviteCreateSerializer(serializers.Serializer):
    emails = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=320), allow_empty=False, max_length=500
    )
    role = serializers.ChoiceField(
        choices=Role.choices,
        default=Role.MEMBER,
        error_messages={"invalid_choice": f'Invalid role "{{input}}": use one of {", ".join(Role.values)}.'},
    )


class SkippedInviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    reason = serializers.CharField()


class InviteResultSerializer(serializers.Serializer):
    invited = UserSerializer(many=True)
    skipped = SkippedInviteSerializer(many=True)


class ApiKeySerializer(serializers.ModelSerializer):
    created_at = UtcDateTimeField(read_only=True)
    last_used_at = UtcDateTimeField(allow_null=True, read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "label", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
