"""The activity periods of API.md: which days a period covers, ending today (UTC), both inclusive."""

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from activity.models import Period

PERIODS: tuple[str, ...] = tuple(Period.values)
ALLOWED_PERIODS_TEXT = ", ".join(PERIODS)
MONTHS = {Period.MONTHS_3: 3, Period.MONTHS_6: 6, Period.MONTHS_12: 12}


class UnknownPeriod(ValueError):
    def __init__(self, value: str):
        super().__init__(f"Unknown period '{value}'. Allowed values: {ALLOWED_PERIODS_TEXT}.")


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def today_utc() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def parse_period(value: str | None, *, default: str) -> str:
    if value is None or value == "":
        return default
    if value not in PERIODS:
        raise UnknownPeriod(value)
    return value


def period_window(period: str, *, today: dt.date, first_activity_day: dt.date | None, created_day: dt.date) -> Window:
    """The window of ``period`` ending on ``today``.

    ``first_activity_day`` and ``created_day`` only matter for ``all``: it starts on whichever is
    earlier (never after today).
    """
    if period == Period.DAYS_30:
        return Window(today - dt.timedelta(days=29), today)
    if period in MONTHS:
        # relativedelta clamps to the month's last day (2024-05-31 - 3 months = 2024-02-29).
        return Window(today - relativedelta(months=MONTHS[period]) + dt.timedelta(days=1), today)
    if period == Period.ALL:
        candidates = [created_day, today]
        if first_activity_day is not None:
            candidates.append(first_activity_day)
        return Window(min(candidates), today)
    raise UnknownPeriod(period)
