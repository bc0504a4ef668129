"""The org's audit trail over the API: read-only list and CSV export (admins and support staff)."""

import csv
import datetime as dt
import json

from django.db import connection
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import APIView

from accounts.api.permissions import IsOrgAdmin
from accounts.audit_selectors import audit_event_list, audit_event_rows
from accounts.audit_services import audit_export_record
from accounts.exports import neutralize_formula

CSV_HEADER = ["time", "actor", "action", "target", "ip_address", "details"]


class AuditPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class AuditFilterSerializer(serializers.Serializer):
    action = serializers.CharField(required=False, allow_blank=True, max_length=500)
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


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    time = serializers.DateTimeField(source="created_at")
    actor = serializers.CharField(source="actor_email")
    action = serializers.CharField()
    target = serializers.CharField(source="target_repr")
    target_id = serializers.IntegerField(source="target_membership_id", allow_null=True)
    ip_address = serializers.IPAddressField(allow_null=True)
    details = serializers.JSONField(source="data")


class AuditPageSerializer(serializers.Serializer):
    """One page of the trail, shaped like the Users list."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AuditEventSerializer(many=True)


FILTER_PARAMETERS = [
    OpenApiParameter("action", str, description="One action, or several separated by commas."),
    OpenApiParameter("actor", str, description="Substring of the actor's e-mail (case-insensitive)."),
    OpenApiParameter("target", str, description="Substring of the target (case-insensitive)."),
    OpenApiParameter("since", dt.date, description="First day (UTC, inclusive)."),
    OpenApiParameter("until", dt.date, description="Last day (UTC, inclusive)."),
]
ERROR_RESPONSES = {
    400: OpenApiResponse(description="Invalid filter"),
    401: OpenApiResponse(description="Not authenticated"),
    403: OpenApiResponse(description="Not an admin of this organization"),
}


def _filters(request) -> dict:
    serializer = AuditFilterSerializer(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AuditEventListView(APIView):
    """Newest first; the rows are append-only (no method other than GET)."""

    permission_classes = [IsOrgAdmin]
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        operation_id="audit_list",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="Page number (from 1)."),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": 500},
                description="Rows per page (default 50, at most 500).",
            ),
        ],
        responses={200: AuditPageSerializer, 404: OpenApiResponse(description="No such page"), **ERROR_RESPONSES},
    )
    def get(self, request):
        events = audit_event_list(**_filters(request))
        paginator = AuditPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)


class Echo:
    """A file-like object whose ``write`` hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_safe(value) -> str:
    """The users export's formula guard, for cells written in Python."""
    return neutralize_formula("" if value is None else str(value)) or ""


def _csv_lines(events):
    writer = csv.writer(Echo())
    yield writer.writerow(CSV_HEADER)
    for event in audit_event_rows(events):
        details = json.dumps(event.data, sort_keys=True, default=str) if event.data else ""
        yield writer.writerow(
            [
                csv_safe(event.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")),
                csv_safe(event.actor_email),
                csv_safe(event.action),
                csv_safe(event.target_repr),
                csv_safe(event.ip_address),
                csv_safe(details),
            ]
        )


class JsonErrorsAnyAccept(BaseContentNegotiation):
    """The export answers CSV whatever the client accepts; its errors are always JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AuditEventExportView(APIView):
    permission_classes = [IsOrgAdmin]
    content_negotiation_class = JsonErrorsAnyAccept
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        operation_id="audit_export_csv",
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiResponse(description="The matching rows as CSV"), **ERROR_RESPONSES},
    )
    def get(self, request):
        filters = _filters(request)
        audit_export_record(request=request, filters=filters)
        events = audit_event_list(**filters)
        slug = getattr(getattr(connection, "tenant", None), "slug", connection.schema_name)
        filename = f"{slug}-audit-{dt.datetime.now(dt.UTC):%Y-%m-%d}.csv"
        response = StreamingHttpResponse(_csv_lines(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


urlpatterns = [
    path("audit/", AuditEventListView.as_view(), name="api-audit-list"),
    path("audit/export.csv", AuditEventExportView.as_view(), name="api-audit-export"),
]
