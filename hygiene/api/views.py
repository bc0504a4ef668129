"""Org settings: the dormancy policy (with its preview) and the usage reports. Thin: they
validate input, call a selector or a service, and shape the answer."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import memberships_with_status
from hygiene import selectors, services
from hygiene.api.serializers import (
    DormancyPolicySerializer,
    DormancyPreviewInputSerializer,
    DormancyPreviewOutputSerializer,
    ReportSendInputSerializer,
    ReportSentOutputSerializer,
    ReportSettingsSerializer,
)
from orgdash.api.errors import documented_error
from orgdash.core.client_address import client_ip

ERRORS = {
    400: documented_error("Invalid input: `detail` and `errors` by field."),
    401: documented_error("Not authenticated."),
    403: documented_error("Not an admin of this organization."),
}


def _policy_data(policy) -> dict:
    return {
        "enabled": policy.enabled,
        "after_days": policy.after_days,
        "warn_days_before": policy.warn_days_before,
        "exempt_roles": list(policy.exempt_roles),
    }


def _report_settings_data(settings) -> dict:
    return {"frequency": settings.frequency, "recipients": list(settings.recipients)}


class DormancySettingsApi(APIView):
    @extend_schema(operation_id="settings_dormancy_retrieve", responses={200: DormancyPolicySerializer, **ERRORS})
    def get(self, request):
        return Response(_policy_data(selectors.dormancy_policy_get()))

    @extend_schema(
        operation_id="settings_dormancy_update",
        request=DormancyPolicySerializer,
        responses={200: DormancyPolicySerializer, **ERRORS},
        summary="Change the dormancy policy (missing fields keep their value); audited",
    )
    def put(self, request):
        serializer = DormancyPolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        terms = {**_policy_data(selectors.dormancy_policy_get()), **serializer.validated_data}
        policy = services.dormancy_policy_update(**terms, actor=request.user, ip_address=client_ip(request))
        return Response(_policy_data(policy))


class DormancyPreviewApi(APIView):
    @extend_schema(
        operation_id="settings_dormancy_preview",
        parameters=[DormancyPreviewInputSerializer],
        responses={200: DormancyPreviewOutputSerializer, **ERRORS},
        summary="Who the policy would warn and deactivate if it ran now, enabled or not",
    )
    def get(self, request):
        params = DormancyPreviewInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        terms = {**_policy_data(selectors.dormancy_policy_get()), **params.validated_data}
        terms.pop("enabled")
        roles = services.validate_policy_terms(**terms)
        now = timezone.now()
        plan = selectors.dormancy_plan(
            terms=selectors.PolicyTerms(terms["after_days"], terms["warn_days_before"], tuple(roles)),
            today=selectors.utc_day(now),
        )
        picked = [(m.pk, "deactivate") for m in plan.deactivate] + [(m.pk, "warn") for m in plan.warn]
        picked = picked[: selectors.PREVIEW_SAMPLE_SIZE]
        people = {m.pk: m for m in memberships_with_status(pks=[pk for pk, _ in picked], now=now)}
        sample = [people[pk] for pk, _ in picked]
        for person, (_, action) in zip(sample, picked, strict=True):
            person.policy_action = action
        data = {"would_warn": len(plan.warn), "would_deactivate": len(plan.deactivate), "sample": sample}
        return Response(DormancyPreviewOutputSerializer(data).data)


class ReportSettingsApi(APIView):
    @extend_schema(operation_id="settings_reports_retrieve", responses={200: ReportSettingsSerializer, **ERRORS})
    def get(self, request):
        return Response(_report_settings_data(selectors.report_settings_get()))

    @extend_schema(
        operation_id="settings_reports_update",
        request=ReportSettingsSerializer,
        responses={200: ReportSettingsSerializer, **ERRORS},
        summary="Change how often the usage report goes out and to whom (missing fields keep their value)",
    )
    def put(self, request):
        serializer = ReportSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = {**_report_settings_data(selectors.report_settings_get()), **serializer.validated_data}
        settings = services.report_settings_update(**values, actor=request.user, ip_address=client_ip(request))
        return Response(_report_settings_data(settings))


class ReportSendApi(APIView):
    @extend_schema(
        operation_id="settings_reports_send",
        request=ReportSendInputSerializer,
        responses={202: ReportSentOutputSerializer, **ERRORS},
        summary="Send the last full period's report now, to the caller only",
    )
    def post(self, request):
        serializer = ReportSendInputSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        report = services.usage_report_send_now(
            actor=request.user,
            frequency=serializer.validated_data.get("frequency"),
            ip_address=client_ip(request),
        )
        data = {
            "frequency": report.frequency,
            "start": report.period_start,
            "end": report.period_end,
            "email": report.requested_by_email,
        }
        return Response(ReportSentOutputSerializer(data).data, status=status.HTTP_202_ACCEPTED)
