"""The activity endpoints. Thin: they validate input, call a selector or a service, and shape the answer.

Activity figures are read from the precomputed aggregates only. An org whose aggregates were never
computed (a new org before its first Celery refresh) gets them computed on the spot when it has
little activity; a large one answers zeros with ``computed_at: null`` and a refresh is queued, so
no request ever scans a big org's activity.
"""

import datetime as dt
import json

from django.db import connection, transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.authentication import ServicePrincipal, SessionAuthentication
from accounts.api.permissions import IsOrgAdmin, IsOrgMember
from activity import aggregates, selectors
from activity.api.serializers import (
    INTERVALS,
    KINDS,
    SURFACES,
    EngagementOutputSerializer,
    EventsInputSerializer,
    FiguresInputSerializer,
    PersonActivityOutputSerializer,
    PersonPeriodInputSerializer,
    RunInputSerializer,
    RunOutputSerializer,
    SummaryOutputSerializer,
    TimeseriesOutputSerializer,
    TopUsersInputSerializer,
    TopUsersOutputSerializer,
)
from activity.middleware import is_sdk_client, note_activity
from activity.models import KIND_ANY, ActivityKind, Interval, Period, Run
from activity.periods import PERIODS
from activity.recording import recorder
from activity.services import MAX_EVENTS_PER_BATCH, activity_events_ingest, run_log
from activity.tasks import refresh_organization_activity
from orgdash.api.csv_responses import CsvNegotiation, csv_lines, csv_response
from orgdash.api.errors import documented_error
from orgdash.api.query_parameters import refuse_differing_repeats


def _period_parameter(default: str) -> OpenApiParameter:
    return OpenApiParameter(
        "period",
        str,
        enum=PERIODS,
        default=default,
        description="30d: the last 30 days; 3m/6m/12m: the last N calendar months; all: since the org's "
        "first activity or creation. Windows end today (UTC), both ends inclusive.",
    )


KIND_PARAMETER = OpenApiParameter(
    "kind", str, enum=KINDS, description="Only activity of this kind counts; absent: any kind."
)
SURFACE_PARAMETER = OpenApiParameter(
    "surface",
    str,
    enum=tuple(SURFACES),
    description="Instead of kind: web (log-ins or page views), api, sdk or runs (run_logged), as the Activity "
    "tab's stacked view shows them.",
)
INTERVAL_PARAMETER = OpenApiParameter(
    "interval",
    str,
    enum=INTERVALS,
    default=Interval.DAY,
    description="day: one point per day; week: per ISO week (Monday first); month: per calendar month.",
)

# Each takes one value: ?period=30d&period=all is refused, not read as either.
FIGURES_PARAMETERS = tuple(FiguresInputSerializer().fields)

ERRORS = {
    400: documented_error("Unknown period, kind or interval, or a bad limit."),
    401: documented_error("Not authenticated."),
    403: documented_error("Not an admin of this organization."),
}


def _computed_or_queued(read, not_computed):
    """``read()``; when the aggregates were never computed: computed now for a small org, else a
    refresh is queued and ``not_computed()`` answers meanwhile."""
    figures = read()
    if figures is not None:
        return figures
    if aggregates.activity_is_small():
        aggregates.refresh_activity()
        figures = read()
        if figures is not None:
            return figures
    else:
        transaction.on_commit(refresh_organization_activity.delay)
    return not_computed()


class _FiguresApi(APIView):
    default_period: str = Period.MONTHS_3

    def params(self, request) -> dict:
        refuse_differing_repeats(request.query_params, FIGURES_PARAMETERS)
        serializer = FiguresInputSerializer(
            data={key: value for key, value in request.query_params.items() if value != ""}
        )
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        kind, surface = values.get("kind"), values.get("surface")
        if kind and surface:
            raise ValidationError({"surface": ["Give either kind or surface, not both."]})
        code = selectors.KIND_CODES[kind] if kind else SURFACES[surface] if surface else KIND_ANY
        return {
            "period": values.get("period", self.default_period),
            "kind": code,
            "interval": values.get("interval", Interval.DAY),
            "limit": values.get("limit", 10),
        }


class ActivitySummaryApi(_FiguresApi):
    default_period = Period.MONTHS_3

    @extend_schema(
        operation_id="activity_summary",
        summary="Unique active users of a period, their cumulative series, and by kind",
        parameters=[_period_parameter(Period.MONTHS_3), KIND_PARAMETER],
        responses={200: SummaryOutputSerializer, **ERRORS},
        tags=["activity"],
    )
    def get(self, request):
        params = self.params(request)
        figures = _computed_or_queued(
            lambda: selectors.activity_summary(period=params["period"], kind=params["kind"], as_json=True),
            lambda: selectors.activity_not_computed(period=params["period"]),
        )
        return _figures_response(figures.as_summary(), figures.series_json)


class ActivityTimeseriesApi(_FiguresApi):
    default_period = Period.MONTHS_6

    @extend_schema(
        operation_id="activity_timeseries",
        summary="Users active on each day, ISO week or month of a period",
        parameters=[_period_parameter(Period.MONTHS_6), KIND_PARAMETER, SURFACE_PARAMETER, INTERVAL_PARAMETER],
        responses={200: TimeseriesOutputSerializer, **ERRORS},
        tags=["activity"],
    )
    def get(self, request):
        params = self.params(request)
        figures = _computed_or_queued(
            lambda: selectors.activity_timeseries(
                period=params["period"], kind=params["kind"], interval=params["interval"], as_json=True
            ),
            lambda: selectors.activity_not_computed(period=params["period"], interval=params["interval"]),
        )
        return _figures_response(figures.as_timeseries(), figures.series_json)


class ActivityTopUsersApi(_FiguresApi):
    default_period = Period.DAYS_30

    @extend_schema(
        operation_id="activity_top_users",
        summary="The most active people of a period",
        description="Most days active in the period first, then the latest last active day, then id. "
        "People without activity in the period are not listed.",
        parameters=[TopUsersInputSerializer],
        responses={200: TopUsersOutputSerializer, **ERRORS},
        tags=["activity"],
    )
    def get(self, request):
        params = self.params(request)
        period = params["period"]
        leaders = _computed_or_queued(
            lambda: selectors.top_users(period=period, limit=params["limit"]),
            lambda: selectors.TopUsers(period, selectors.not_computed_window(period=period), None, []),
        )
        return Response(_with_time(leaders.as_dict()))


class ActivityEngagementApi(APIView):
    @extend_schema(
        operation_id="activity_engagement",
        summary="DAU, WAU, MAU and stickiness, now and 30 days earlier",
        responses={200: EngagementOutputSerializer, **{code: ERRORS[code] for code in (401, 403)}},
        tags=["activity"],
    )
    def get(self, request):
        figures = _computed_or_queued(selectors.engagement, selectors.engagement_not_computed)
        return Response(_with_time(dict(figures)))


class ActivityExportApi(_FiguresApi):
    content_negotiation_class = CsvNegotiation
    default_period = Period.MONTHS_6

    @extend_schema(
        operation_id="activity_export",
        summary="The daily figures of a period as CSV",
        description="One line per day of the period: `" + ",".join(selectors.EXPORT_HEADER) + "` (users active that "
        "day, in all and by kind).",
        parameters=[_period_parameter(Period.MONTHS_6)],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file."),
            **ERRORS,
        },
        tags=["activity"],
    )
    def get(self, request):
        period = self.params(request)["period"]

        def empty():
            window = selectors.not_computed_window(period=period)
            zeros = (0,) * (len(selectors.EXPORT_HEADER) - 1)
            return window, [(window.start + dt.timedelta(days=i), *zeros) for i in range(window.days)]

        window, lines = _computed_or_queued(lambda: selectors.activity_daily_by_kind(period=period), empty)
        rows = ([day.isoformat(), *values] for day, *values in lines)
        filename = f"activity-{period}-{window.start}-{window.end}.csv"
        return csv_response(csv_lines(selectors.EXPORT_HEADER, rows, lineterminator="\n"), filename=filename)


_DATETIME = serializers.DateTimeField()


def _figures_response(payload: dict, series_json: str | None):
    """The answer with its series; a series that comes as JSON text from the database is spliced
    in as it is (re-encoding hundreds of points would be most of the request's time)."""
    payload = _with_time(payload)
    if series_json is None:
        return Response(payload)
    del payload["series"]
    return HttpResponse(json.dumps(payload)[:-1] + f', "series": {series_json}}}', content_type="application/json")


def _with_time(payload: dict) -> dict:
    if payload["computed_at"] is not None:
        payload["computed_at"] = _DATETIME.to_representation(payload["computed_at"])
    return payload


class MayIngestActivity(BasePermission):
    """An org admin (session or personal key), support staff, or the org's service key."""

    message = "Only organization admins and service keys may report activity."

    def has_permission(self, request, view):
        return isinstance(request.user, ServicePrincipal) or IsOrgAdmin().has_permission(request, view)


class ActivityEventsApi(APIView):
    permission_classes = [MayIngestActivity]

    @extend_schema(
        operation_id="activity_events_ingest",
        request=EventsInputSerializer,
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


class RunCreateApi(APIView):
    permission_classes = [IsOrgMember]

    @extend_schema(
        operation_id="runs_create",
        request=RunInputSerializer,
        responses={
            201: RunOutputSerializer,
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
        payload = RunInputSerializer(data=request.data)
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
        return Response(RunOutputSerializer(run).data, status=status.HTTP_201_CREATED)


DEFAULT_PERIOD = "12m"


class UserActivityApi(APIView):
    @extend_schema(
        operation_id="users_activity",
        parameters=[
            OpenApiParameter(
                "period",
                str,
                enum=PERIODS,
                default=DEFAULT_PERIOD,
                description="As for the org's figures; with `all`, `days_active` equals the User's.",
            )
        ],
        responses={
            200: PersonActivityOutputSerializer,
            400: documented_error("Unknown period."),
            401: documented_error("Not authenticated."),
            403: documented_error("Not an admin of this organization."),
            404: documented_error("No such user in this organization."),
        },
        summary="One person's active days and the kinds of each",
    )
    def get(self, request, pk: int):
        refuse_differing_repeats(request.query_params, ("period",))
        period = request.query_params.get("period") or DEFAULT_PERIOD
        if period not in PERIODS:  # an allowed period is valid as it is; the serializer says why another is not
            PersonPeriodInputSerializer(data={"period": period}).is_valid(raise_exception=True)
        activity = selectors.person_activity(membership_id=pk, period=period)
        if activity is None:
            raise NotFound("No such user in this organization.")
        # The days' JSON comes written from the database; re-encoding hundreds of them would be
        # most of the request's time.
        return HttpResponse(activity.as_json(), content_type="application/json")
