"""Activity figures: read from the precomputed aggregates only.

An org whose aggregates were never computed (a new org before its first Celery refresh) gets them
computed on the spot when it has little activity; a large one answers zeros with
``computed_at: null`` and a refresh is queued, so no request ever scans a big org's activity.
"""

import csv
import datetime as dt
import io
import json

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import UserSerializer
from activity import aggregates, selectors
from activity.models import KIND_ANY, KIND_WEB, ActivityKind, Interval, Period
from activity.periods import PERIODS
from activity.tasks import refresh_organization_activity
from orgdash.api.errors import documented_error

KINDS = tuple(selectors.KIND_CODES)
# The Activity tab's stacked view: web pages and log-ins together, then API, SDK and runs.
SURFACES = {"web": KIND_WEB, "api": ActivityKind.API, "sdk": ActivityKind.SDK, "runs": ActivityKind.RUN_LOGGED}
INTERVALS = tuple(Interval.values)
TOP_USERS_MAX = 100


def _choice(choices: tuple[str, ...], what: str) -> serializers.ChoiceField:
    allowed = ", ".join(choices)
    return serializers.ChoiceField(
        choices=choices,
        required=False,
        error_messages={"invalid_choice": f"Unknown {what} '{{input}}'. Allowed values: {allowed}."},
    )


class FiguresInput(serializers.Serializer):
    period = _choice(PERIODS, "period")
    kind = _choice(KINDS, "kind")
    interval = _choice(INTERVALS, "interval")
    surface = _choice(tuple(SURFACES), "surface")
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=TOP_USERS_MAX,
        error_messages={
            "invalid": "limit must be a whole number from 1 to 100.",
            "min_value": "limit must be a whole number from 1 to 100.",
            "max_value": "limit must be a whole number from 1 to 100.",
        },
    )


class PointOutput(serializers.Serializer):
    date = serializers.DateField()
    active_users = serializers.IntegerField()


class BucketPointOutput(PointOutput):
    date = serializers.DateField(help_text="The first day of the day, ISO week (Monday) or month.")
    partial = serializers.BooleanField(
        required=False, help_text="week/month only: the bucket is cut by the period's start or end (today: so far)."
    )


class TimeseriesOutput(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS)
    start = serializers.DateField()
    end = serializers.DateField()
    series = BucketPointOutput(
        many=True,
        help_text="day: users active on each day from start to end, zeros included; week/month: unique users "
        "active on the bucket's days inside the period.",
    )
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the figures were computed; null before the first computation."
    )


class ByKindOutput(serializers.Serializer):
    login = serializers.IntegerField()
    page_view = serializers.IntegerField()
    run_logged = serializers.IntegerField()
    sdk = serializers.IntegerField()
    api = serializers.IntegerField()


class SummaryOutput(TimeseriesOutput):
    total_active_users = serializers.IntegerField(help_text="Unique users active from start through end.")
    by_kind = ByKindOutput(help_text="Unique users active with each kind of activity in the period.")
    series = PointOutput(many=True, help_text="Unique users active from start through each day (cumulative).")


class TopUserOutput(serializers.Serializer):
    user = UserSerializer()
    days_active = serializers.IntegerField(help_text="Days active in the period.")
    last_active = serializers.DateField(help_text="The last day active in the period (UTC).")


class TopUsersOutput(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS)
    start = serializers.DateField()
    end = serializers.DateField()
    results = TopUserOutput(many=True)
    computed_at = serializers.DateTimeField(allow_null=True)


class EngagementFiguresOutput(serializers.Serializer):
    dau = serializers.IntegerField(help_text="Unique users active on the day.")
    wau = serializers.IntegerField(help_text="Unique users active in the 7 days ending on the day.")
    mau = serializers.IntegerField(help_text="Unique users active in the 30 days ending on the day.")
    stickiness = serializers.FloatField(help_text="Mean daily actives over those 30 days / mau, to 3 places.")


class EngagementOutput(EngagementFiguresOutput):
    as_of = serializers.DateField()
    previous = EngagementFiguresOutput(help_text="The same figures as of 30 days earlier.")
    computed_at = serializers.DateTimeField(allow_null=True)


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


class TopUsersQuery(serializers.Serializer):
    """The top-users parameters as the schema shows them (bounds included)."""

    period = serializers.ChoiceField(choices=PERIODS, default=Period.DAYS_30, help_text="As for summary.")
    limit = serializers.IntegerField(min_value=1, max_value=TOP_USERS_MAX, default=10, help_text="How many people.")


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


class _FiguresView(APIView):
    default_period: str = Period.MONTHS_3

    def params(self, request) -> dict:
        serializer = FiguresInput(data={key: value for key, value in request.query_params.items() if value != ""})
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


class ActivitySummaryView(_FiguresView):
    default_period = Period.MONTHS_3

    @extend_schema(
        operation_id="activity_summary",
        summary="Unique active users of a period, their cumulative series, and by kind",
        parameters=[_period_parameter(Period.MONTHS_3), KIND_PARAMETER],
        responses={200: SummaryOutput, **ERRORS},
        tags=["activity"],
    )
    def get(self, request):
        params = self.params(request)
        figures = _computed_or_queued(
            lambda: selectors.activity_summary(period=params["period"], kind=params["kind"], as_json=True),
            lambda: selectors.activity_not_computed(period=params["period"]),
        )
        return _figures_response(figures.as_summary(), figures.series_json)


class ActivityTimeseriesView(_FiguresView):
    default_period = Period.MONTHS_6

    @extend_schema(
        operation_id="activity_timeseries",
        summary="Users active on each day, ISO week or month of a period",
        parameters=[_period_parameter(Period.MONTHS_6), KIND_PARAMETER, SURFACE_PARAMETER, INTERVAL_PARAMETER],
        responses={200: TimeseriesOutput, **ERRORS},
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


class ActivityTopUsersView(_FiguresView):
    default_period = Period.DAYS_30

    @extend_schema(
        operation_id="activity_top_users",
        summary="The most active people of a period",
        description="Most days active in the period first, then the latest last active day, then id. "
        "People without activity in the period are not listed.",
        parameters=[TopUsersQuery],
        responses={200: TopUsersOutput, **ERRORS},
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


class ActivityEngagementView(APIView):
    @extend_schema(
        operation_id="activity_engagement",
        summary="DAU, WAU, MAU and stickiness, now and 30 days earlier",
        responses={200: EngagementOutput, **{code: ERRORS[code] for code in (401, 403)}},
        tags=["activity"],
    )
    def get(self, request):
        figures = _computed_or_queued(selectors.engagement, selectors.engagement_not_computed)
        return Response(_with_time(dict(figures)))


class ActivityExportView(_FiguresView):
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
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(selectors.EXPORT_HEADER)
        for day, *values in lines:
            writer.writerow([day.isoformat(), *values])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="activity-{period}-{window.start}-{window.end}.csv"'
        response["Cache-Control"] = "no-store"
        return response

    def perform_content_negotiation(self, request, force=False):
        # The success answer is the CSV itself; errors are JSON whatever the client accepts.
        return super().perform_content_negotiation(request, force=True)


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
