"""Activity summary and timeseries: read from the precomputed aggregates only.

An org whose aggregates were never computed (a new org before its first Celery refresh) gets them
computed on the spot when it has little activity; a large one answers zeros with
``computed_at: null`` and a refresh is queued, so no request ever scans a big org's activity.
"""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from activity import aggregates, selectors
from activity.models import Period
from activity.periods import ALLOWED_PERIODS_TEXT, PERIODS
from activity.tasks import refresh_organization_activity


class PeriodInput(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=PERIODS,
        error_messages={"invalid_choice": f"Unknown period '{{input}}'. Allowed values: {ALLOWED_PERIODS_TEXT}."},
    )


class PointOutput(serializers.Serializer):
    date = serializers.DateField()
    active_users = serializers.IntegerField()


class TimeseriesOutput(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS)
    start = serializers.DateField()
    end = serializers.DateField()
    series = PointOutput(many=True, help_text="Users active on each day from start to end, zeros included.")
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the figures were computed; null before the first computation."
    )


class SummaryOutput(TimeseriesOutput):
    total_active_users = serializers.IntegerField(help_text="Unique users active from start through end.")
    series = PointOutput(many=True, help_text="Unique users active from start through each day (cumulative).")


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def _period_parameter(default: str) -> OpenApiParameter:
    return OpenApiParameter(
        "period",
        str,
        enum=PERIODS,
        default=default,
        description="30d: the last 30 days; 3m/6m/12m: the last N calendar months; all: since the org's "
        "first activity or creation. Windows end today (UTC), both ends inclusive.",
    )


ERRORS = {
    400: OpenApiResponse(ErrorOutput, description="Unknown period."),
    401: OpenApiResponse(ErrorOutput, description="Not authenticated."),
    403: OpenApiResponse(ErrorOutput, description="Not an admin of this organization."),
}


class _AggregateView(APIView):
    default_period: str
    selector = None

    def get(self, request):
        data = {"period": request.query_params.get("period") or self.default_period}
        serializer = PeriodInput(data=data)
        serializer.is_valid(raise_exception=True)
        period = serializer.validated_data["period"]
        figures = self.selector(period=period)
        if figures is None:
            figures = self._first_figures(period)
        return Response(self.render(figures))

    def _first_figures(self, period: str):
        if aggregates.activity_is_small():
            aggregates.refresh_activity()
            figures = self.selector(period=period)
            if figures is not None:
                return figures
        else:
            transaction.on_commit(refresh_organization_activity.delay)
        return selectors.activity_not_computed(period=period)

    def render(self, figures) -> dict:
        raise NotImplementedError


class ActivitySummaryView(_AggregateView):
    default_period = Period.MONTHS_3
    selector = staticmethod(selectors.activity_summary)

    @extend_schema(
        operation_id="activity_summary",
        summary="Unique active users of a period and their cumulative series",
        parameters=[_period_parameter(Period.MONTHS_3)],
        responses={200: SummaryOutput, **ERRORS},
        tags=["activity"],
    )
    def get(self, request):
        return super().get(request)

    def render(self, figures) -> dict:
        return _with_time(figures.as_summary())


class ActivityTimeseriesView(_AggregateView):
    default_period = Period.MONTHS_6
    selector = staticmethod(selectors.activity_timeseries)

    @extend_schema(
        operation_id="activity_timeseries",
        summary="Users active on each day of a period",
        parameters=[_period_parameter(Period.MONTHS_6)],
        responses={200: TimeseriesOutput, **ERRORS},
        tags=["activity"],
    )
    def get(self, request):
        return super().get(request)

    def render(self, figures) -> dict:
        return _with_time(figures.as_timeseries())


_DATETIME = serializers.DateTimeField()


def _with_time(payload: dict) -> dict:
    if payload["computed_at"] is not None:
        payload["computed_at"] = _DATETIME.to_representation(payload["computed_at"])
    return payload
