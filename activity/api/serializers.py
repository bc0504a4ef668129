"""Input and output shapes of the activity API."""

from rest_framework import serializers

from accounts.api.serializers import UserOutputSerializer
from activity import selectors
from activity.models import KIND_WEB, ActivityKind, Interval, Period, Run
from activity.periods import ALLOWED_PERIODS_TEXT, PERIODS
from activity.services import MAX_EVENTS_PER_BATCH

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


class FiguresInputSerializer(serializers.Serializer):
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


class PointOutputSerializer(serializers.Serializer):
    date = serializers.DateField()
    active_users = serializers.IntegerField()


class BucketPointOutputSerializer(PointOutputSerializer):
    date = serializers.DateField(help_text="The first day of the day, ISO week (Monday) or month.")
    partial = serializers.BooleanField(
        required=False, help_text="week/month only: the bucket is cut by the period's start or end (today: so far)."
    )


class TimeseriesOutputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS)
    start = serializers.DateField()
    end = serializers.DateField()
    series = BucketPointOutputSerializer(
        many=True,
        help_text="day: users active on each day from start to end, zeros included; week/month: unique users "
        "active on the bucket's days inside the period.",
    )
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the figures were computed; null before the first computation."
    )


class ByKindOutputSerializer(serializers.Serializer):
    login = serializers.IntegerField()
    page_view = serializers.IntegerField()
    run_logged = serializers.IntegerField()
    sdk = serializers.IntegerField()
    api = serializers.IntegerField()


class SummaryOutputSerializer(TimeseriesOutputSerializer):
    total_active_users = serializers.IntegerField(help_text="Unique users active from start through end.")
    by_kind = ByKindOutputSerializer(help_text="Unique users active with each kind of activity in the period.")
    series = PointOutputSerializer(many=True, help_text="Unique users active from start through each day (cumulative).")


class TopUserOutputSerializer(serializers.Serializer):
    user = UserOutputSerializer()
    days_active = serializers.IntegerField(help_text="Days active in the period.")
    last_active = serializers.DateField(help_text="The last day active in the period (UTC).")


class TopUsersOutputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS)
    start = serializers.DateField()
    end = serializers.DateField()
    results = TopUserOutputSerializer(many=True)
    computed_at = serializers.DateTimeField(allow_null=True)


class EngagementFiguresOutputSerializer(serializers.Serializer):
    dau = serializers.IntegerField(help_text="Unique users active on the day.")
    wau = serializers.IntegerField(help_text="Unique users active in the 7 days ending on the day.")
    mau = serializers.IntegerField(help_text="Unique users active in the 30 days ending on the day.")
    stickiness = serializers.FloatField(help_text="Mean daily actives over those 30 days / mau, to 3 places.")


class EngagementOutputSerializer(EngagementFiguresOutputSerializer):
    as_of = serializers.DateField()
    previous = EngagementFiguresOutputSerializer(help_text="The same figures as of 30 days earlier.")
    computed_at = serializers.DateTimeField(allow_null=True)


class TopUsersInputSerializer(serializers.Serializer):
    """The top-users parameters as the schema shows them (bounds included)."""

    period = serializers.ChoiceField(choices=PERIODS, default=Period.DAYS_30, help_text="As for summary.")
    limit = serializers.IntegerField(min_value=1, max_value=TOP_USERS_MAX, default=10, help_text="How many people.")


# The request body as the schema shows it (so clients, and the API fuzzer, see an event's fields);
# the endpoint checks each event on its own.
class ActivityEventInputSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="The member's e-mail or username (either in any case).")
    kind = serializers.ChoiceField(choices=KINDS)
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a time of day; without an offset: UTC.")


class EventsInputSerializer(serializers.Serializer):
    events = serializers.ListField(child=ActivityEventInputSerializer(), max_length=MAX_EVENTS_PER_BATCH)


class RunInputSerializer(serializers.Serializer):
    project = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=200)


class RunOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, read_only=True)

    class Meta:
        model = Run
        fields = ["id", "project", "name", "created_by", "created_at", "client"]


class PersonPeriodInputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=PERIODS,
        error_messages={"invalid_choice": f"Unknown period '{{input}}'. Allowed values: {ALLOWED_PERIODS_TEXT}."},
    )


class ActiveDayOutputSerializer(serializers.Serializer):
    date = serializers.DateField()
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=tuple(selectors.KIND_BITS)))


class PersonByKindOutputSerializer(serializers.Serializer):
    login = serializers.IntegerField(min_value=0)
    page_view = serializers.IntegerField(min_value=0)
    run_logged = serializers.IntegerField(min_value=0)
    sdk = serializers.IntegerField(min_value=0)
    api = serializers.IntegerField(min_value=0)


class PersonActivityOutputSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    period = serializers.ChoiceField(choices=PERIODS)
    start = serializers.DateField()
    end = serializers.DateField()
    days_active = serializers.IntegerField(min_value=0, help_text="Active days in the window.")
    days = ActiveDayOutputSerializer(many=True, help_text="Active days only, ascending, with the kinds seen that day.")
    by_kind = PersonByKindOutputSerializer(help_text="On how many days of the window each kind was seen.")
