"""Time for tests: a clock the test moves (no sleeps), a fixed point away from midnight, and a
wait for the tests whose servers and workers each read the real clock."""

import datetime as dt
import time

from django.utils import timezone


class Clock:
    """``django.utils.timezone.now`` answers this clock, from ``at`` (default: now) until moved."""

    def __init__(self, monkeypatch, at: dt.datetime | None = None):
        self.now = at or timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def yesterday_noon() -> dt.datetime:
    """Noon (UTC) yesterday: always in the past, and twelve hours from either midnight, so moments
    placed hours around it stay on the days a test expects whenever the suite runs."""
    yesterday = timezone.now().astimezone(dt.UTC) - dt.timedelta(days=1)
    return yesterday.replace(hour=12, minute=0, second=0, microsecond=0)


def clear_of_midnight(seconds: float) -> None:
    """Waits for midnight (UTC) to pass when it is less than ``seconds`` away, so a test whose own
    servers and workers each read the real clock sees one day from start to end."""
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time.min, dt.UTC)
    left = (midnight - now).total_seconds()
    if left < seconds:
        time.sleep(left + 1)
