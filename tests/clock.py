"""Time travel for tests: ``django.utils.timezone.now`` answers a clock the test moves (no sleeps)."""

import datetime as dt

from django.utils import timezone


class Clock:
    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)
