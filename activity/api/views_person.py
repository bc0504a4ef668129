"""One person's active days: ``GET users/<id>/activity/`` (the person page's calendar)."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from activity import selectors
from activity.periods import ALLOWED_PERIODS_TEXT, PERIODS
from orgdash.api.errors import documented_error

DEFAULT_PERIOD = "12m"


class PersonPeriodInput(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=PERIODS,
        error_messages={"invalid_choice": f"Unknown period '{{input}}'. Allowed values: {ALLOWED_PERIODS_TEXT}."},
    )


class ActiveDayOutput(serializers.Serializer):
    date = serializers.DateField()
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=tuple(selectors.KIND_BITS)))


class PersonByKindOutput(serializers.Serializer):
    login = serializers.IntegerField(min_value=0)
    page_view = serializers.IntegerField(min_value=0)
    run_logged = serializers.IntegerField(min_value=0)
    sdk = serializers.IntegerField(min_value=0)
    api = serializers.IntegerField(min_value=0)


class PersonActivityOutput(serializers.Serializer):
    user = serializers.IntegerField()
    period = serializers.ChoiceField(choices=PERIODS)
    start = serializers.DateField()
    end = serializers.DateField()
    days_active = serializers.IntegerField(min_value=0, help_text="Active days in the window.")
    days = ActiveDayOutput(many=True, help_text="Active days only, ascending, with the kinds seen that day.")
    by_kind = PersonByKindOutput(help_text="On how many days of the window each kind was seen.")


class PersonActivityView(APIView):
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
            200: PersonActivityOutput,
            400: documented_error("Unknown period."),
            401: documented_error("Not authenticated."),
            403: documented_error("Not an admin of this organization."),
            404: documented_error("No such user in this organization."),
        },
        summary="One person's active days and the kinds of each",
    )
    def get(self, request, pk: int):
        params = PersonPeriodInput(data={"period": request.query_params.get("period") or DEFAULT_PERIOD})
        params.is_valid(raise_exception=True)
        activity = selectors.person_activity(membership_id=pk, period=params.validated_data["period"])
        if activity is None:
            raise NotFound("No such user in this organization.")
        # The days' JSON comes written from the database; re-encoding hundreds of them would be
        # most of the request's time.
        return HttpResponse(activity.as_json(), content_type="application/json")
