"""Capture endpoints: batch ingestion of activity from other services, and logging a run."""

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.authentication import ServicePrincipal, SessionAuthentication
from accounts.api.permissions import IsOrgAdmin, IsOrgMember
from activity.middleware import is_sdk_client, note_activity
from activity.models import ActivityKind, Run
from activity.recording import recorder
from activity.services import MAX_EVENTS_PER_BATCH, activity_events_ingest, run_log
from orgdash.api.errors import documented_error


class MayIngestActivity(BasePermission):
    """An org admin (session or personal key), support staff, or the org's service key."""

    message = "Only organization admins and service keys may report activity."

    def has_permission(self, request, view):
        return isinstance(request.user, ServicePrincipal) or IsOrgAdmin().has_permission(request, view)


class ActivityEventsView(APIView):
    permission_classes = [MayIngestActivity]

    class EventsInput(serializers.Serializer):
        events = serializers.ListField(child=serializers.DictField(), max_length=MAX_EVENTS_PER_BATCH)

    @extend_schema(
        operation_id="activity_events_ingest",
        request=EventsInput,
        responses={
            202: inline_serializer(
                "ActivityIngestResult",
                {
                    "accepted": serializers.IntegerField(),
                    "rejected": serializers.ListField(
                        child=inline_serializer(
                            "ActivityEventRejected",
                            {"index": serializers.IntegerField(), "reason": serializers.CharField()},
                        )
                    ),
                },
            ),
            400: documented_error(f"Not a list of events, or more than {MAX_EVENTS_PER_BATCH:,} of them."),
            401: documented_error("Not authenticated."),
            403: documented_error("Neither an admin of this organization nor its service key."),
        },
        description=(
            f"Reports activity in bulk (at most {MAX_EVENTS_PER_BATCH:,} events). Each event "
            '`{"user": <e-mail or username>, "kind": "login|page_view|run_logged|sdk|api", '
            '"timestamp": <ISO 8601>}` is checked on its own; bad ones are listed in `rejected` with '
            "their index and reason. Sending the same batch again changes nothing."
        ),
    )
    def post(self, request):
        data = request.data
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):
            raise ValidationError({"events": ['A list of events is required: {"events": [...]}.']})
        if len(events) > MAX_EVENTS_PER_BATCH:
            raise ValidationError(
                {"events": [f"At most {MAX_EVENTS_PER_BATCH:,} events per request; this one has {len(events):,}."]}
            )
        result = activity_events_ingest(events=events)
        return Response({"accepted": result.accepted, "rejected": result.rejected}, status=status.HTTP_202_ACCEPTED)


class RunOutput(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, read_only=True)

    class Meta:
        model = Run
        fields = ["id", "project", "name", "created_by", "created_at", "client"]


class RunCreateView(APIView):
    permission_classes = [IsOrgMember]

    class RunInput(serializers.Serializer):
        project = serializers.CharField(max_length=200)
        name = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="runs_create",
        request=RunInput,
        responses={
            201: RunOutput,
            400: documented_error("Invalid input: `detail` and `errors` by field."),
            401: documented_error("Not authenticated."),
            403: documented_error("Not a member of this organization (support staff and service keys log no runs)."),
        },
        description=(
            "Logs a run. It counts as the member's activity: `sdk` when the client identifies as the SDK "
            "(`User-Agent: orgdash-sdk/<version>` or `X-Orgdash-Client: sdk`), `run_logged` otherwise."
        ),
    )
    def post(self, request):
        payload = self.RunInput(data=request.data)
        payload.is_valid(raise_exception=True)
        if is_sdk_client(request):
            client = Run.Client.SDK
        elif isinstance(request.successful_authenticator, SessionAuthentication):
            client = Run.Client.WEB
        else:
            client = Run.Client.API
        run = run_log(membership=request.user.membership, client=client, **payload.validated_data)
        kind = ActivityKind.SDK if client == Run.Client.SDK else ActivityKind.RUN_LOGGED
        if not note_activity(request, kind):  # no ActivityMiddleware in this request's path
            recorder.record(schema=connection.schema_name, membership_id=run.created_by_id, kinds=kind)
        return Response(RunOutput(run).data, status=status.HTTP_201_CREATED)
