from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from accounts.api.serializers import UserOutputSerializer
from accounts.models import Role
from hygiene.models import (
    AFTER_DAYS_MAX,
    AFTER_DAYS_MIN,
    WARN_DAYS_MAX,
    WARN_DAYS_MIN,
    ReportFrequency,
)
from hygiene.services import MAX_RECIPIENTS
from orgdash.api.query_parameters import QueryParametersInputSerializer, RepeatableCharField

ROLE_ERROR = {"invalid_choice": f"'{{input}}' is not a role; use any of {', '.join(Role.values)}."}


class DormancyPolicySerializer(serializers.Serializer):
    """The policy. In a PUT every field is optional: a missing one keeps its current value."""

    enabled = serializers.BooleanField(required=False, help_text="Off by default.")
    after_days = serializers.IntegerField(
        required=False,
        min_value=AFTER_DAYS_MIN,
        max_value=AFTER_DAYS_MAX,
        help_text="Deactivate after this many days without activity (last active, or added when never active).",
        error_messages={"invalid": "Give a whole number of days."},
    )
    warn_days_before = serializers.IntegerField(
        required=False,
        min_value=WARN_DAYS_MIN,
        max_value=WARN_DAYS_MAX,
        help_text="Send one warning e-mail this many days before (0: no warning); fewer than after_days.",
        error_messages={"invalid": "Give a whole number of days."},
    )
    exempt_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices, error_messages=ROLE_ERROR),
        required=False,
        allow_empty=True,
        max_length=len(Role.values),
        help_text="Roles the policy never touches (default: admin).",
    )


class DormancyPreviewInputSerializer(QueryParametersInputSerializer, DormancyPolicySerializer):
    """Optional terms to preview instead of the saved ones (the settings page previews its form)."""

    enabled = None
    exempt_roles = RepeatableCharField(
        required=False,
        allow_blank=True,
        help_text="Comma-separated roles (or the parameter repeated); empty: none exempt.",
    )

    def validate_exempt_roles(self, value: str) -> list[str]:
        roles = [role.strip() for role in value.split(",") if role.strip()]
        unknown = [role for role in roles if role not in Role.values]
        if unknown:
            raise serializers.ValidationError(ROLE_ERROR["invalid_choice"].format(input=unknown[0]))
        return roles


@extend_schema_serializer(component_name="PreviewUser")
class PreviewUserOutputSerializer(UserOutputSerializer):
    policy_action = serializers.ChoiceField(choices=["warn", "deactivate"], help_text="What the policy does today.")


@extend_schema_serializer(component_name="DormancyPreview")
class DormancyPreviewOutputSerializer(serializers.Serializer):
    would_warn = serializers.IntegerField()
    would_deactivate = serializers.IntegerField()
    sample = PreviewUserOutputSerializer(many=True, help_text="Up to 20: first those deactivated, then those warned.")


class ReportSettingsSerializer(serializers.Serializer):
    frequency = serializers.ChoiceField(
        choices=ReportFrequency.choices,
        required=False,
        help_text="weekly: Mondays, for the week before; monthly: the 1st, for the month before.",
    )
    recipients = serializers.ListField(
        # Checked by the service, whose message names the address that is wrong.
        child=serializers.CharField(max_length=254),
        required=False,
        allow_empty=True,
        max_length=MAX_RECIPIENTS,
        help_text="E-mail addresses (stored lower-cased, without duplicates). Empty: every active admin.",
    )


@extend_schema_serializer(component_name="ReportSend")
class ReportSendInputSerializer(serializers.Serializer):
    frequency = serializers.ChoiceField(
        choices=[ReportFrequency.WEEKLY.value, ReportFrequency.MONTHLY.value],
        required=False,
        help_text="Which period: the last full week or month (default: the configured one, else weekly).",
    )


@extend_schema_serializer(component_name="ReportSent")
class ReportSentOutputSerializer(serializers.Serializer):
    frequency = serializers.ChoiceField(choices=[ReportFrequency.WEEKLY.value, ReportFrequency.MONTHLY.value])
    start = serializers.DateField()
    end = serializers.DateField()
    email = serializers.EmailField(help_text="Where it goes: the caller's address.")
