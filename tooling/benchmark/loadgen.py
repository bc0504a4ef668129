"""A bounded mixed load against a running orgdash, from its own process (``make loadtest``).

Reads a plan (JSON on stdin: base URL, host, member and admin API keys, duration, concurrency),
drives members calling the API (which is activity) and admins listing users, exporting and opening
charts, and prints a JSON summary: requests, errors, throughput, latency percentiles, and for each
member key how many of its requests succeeded (the activity the load generated).

Two ways to drive it:

- **closed loop** (default): ``concurrency`` clients, each sending its next request when the last
  one is answered. Its latency is bounded by clients / throughput, and a slow server is sent less.
- **open loop** (``rate``): requests arrive at ``rate`` a second (Poisson arrivals) whatever the
  server does, and each one's latency counts from the moment it was due, not from when a client
  was free to send it, so a server falling behind shows in the figures (no coordinated omission).

A warm-up (``warmup_seconds``) runs the same traffic first; it is reported on its own and the
headline figures are those of the measured part. Every request is also classed by whether it was
its org's first in the run (nothing on the server can have that org's data cached yet).
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from typing import NamedTuple
from urllib.parse import urlsplit

ADMIN_PATHS = [
    (40, "/api/v1/users/?ordering=-last_active&page_size=50"),
    (10, "/api/v1/users/?ordering=status&page_size=50"),
    (10, "/api/v1/users/?ordering=name&page={page}&page_size=50"),
    (10, "/api/v1/users/?search=ann&page_size=50"),
    (10, "/api/v1/activity/summary/?period=3m"),
    (10, "/api/v1/activity/timeseries/?period=6m"),
    (5, "/api/v1/activity/summary/?period=all"),
    (1, "/api/v1/users/export.csv?status=deactivated"),
]

# An open-loop run never has more requests in flight than this (each sender has one connection).
OPEN_LOOP_SENDERS = 64


def _weighted(choices, rng):
    total = sum(weight for weight, _ in choices)
    pick = rng.uniform(0, total)
    for weight, value in choices:
        pick -= weight
        if pick <= 0:
            return value
    return choices[-1][1]


class Sample(NamedTuple):
    offset_s: float  # when it was sent (closed loop) or due (open loop), from the start of the run
    latency_ms: float
    warmup: bool
    org_first: bool  # its org's first request in the run
    status: int
    member_key: str | None  # the member whose activity it was, if it was activity


class Traffic:
    """What to send next: a member logging a run (60%) or an admin reading a list or a chart."""

    def __init__(self, plan):
        self.plan = plan
        self.hosts_seen: set[str] = set()
        self.lock = threading.Lock()

    def pick(self, rng):
        plan = self.plan
        as_member = rng.random() < plan.get("member_share", 0.6)
        if as_member:
            key = rng.choice(plan["member_keys"])
            method, path = "POST", "/api/v1/runs/"
            body = json.dumps({"project": "load", "name": f"run-{rng.randrange(10**9)}"})
        else:
            key = rng.choice(plan["admin_keys"])
            page = rng.randint(1, plan.get("pages", 1))
            method, path, body = "GET", _weighted(ADMIN_PATHS, rng).format(page=page), None
        # Many-orgs mode: each key belongs to one org's host.
        host = plan.get("key_hosts", {}).get(key, plan["host"])
        headers = {"Host": host, "Authorization": f"Bearer {key}"}
        if body:
            headers["Content-Type"] = "application/json"
        with self.lock:
            org_first = host not in self.hosts_seen
            self.hosts_seen.add(host)
        return (method, path, body, headers), (key if as_member else None), org_first


class Client:
    """One keep-alive connection, opened again after a failure or a pause the server may have
    closed it in (gunicorn keeps an idle connection for 2 s)."""

    IDLE_SECONDS = 1.0

    def __init__(self, base_url):
        parts = urlsplit(base_url)
        self.address = (parts.hostname, parts.port or 80)
        self.connection = http.client.HTTPConnection(*self.address, timeout=30)
        self.last_used = time.monotonic()

    def send(self, method, path, body, headers) -> int:
        if time.monotonic() - self.last_used > self.IDLE_SECONDS:
            self._reconnect()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self._reconnect()
            return 599
        finally:
            self.last_used = time.monotonic()

    def _reconnect(self):
        self.connection.close()
        self.connection = http.client.HTTPConnection(*self.address, timeout=30)


def run_closed_loop(plan, traffic, started, warmup_end, deadline) -> list[Sample]:
    samples: list[Sample] = []

    def client_loop(index):
        rng, client = random.Random(index), Client(plan["base_url"])
        while time.monotonic() < deadline:
            request, member_key, org_first = traffic.pick(rng)
            sent = time.monotonic()
            status = client.send(*request)
            done = time.monotonic()
            samples.append(
                Sample(sent - started, (done - sent) * 1000, sent < warmup_end, org_first, status, member_key)
            )

    _run_threads(client_loop, plan["concurrency"], plan)
    return samples


def run_open_loop(plan, traffic, started, warmup_end, deadline) -> tuple[list[Sample], float]:
    """Requests due at Poisson arrival times; a request's latency runs from when it was due."""
    arrivals, rng, at = [], random.Random(0), started
    while True:
        at += rng.expovariate(plan["rate"])
        if at >= deadline:
            break
        arrivals.append(at)
    samples: list[Sample] = []
    send_lags: list[float] = []
    next_index = itertools.count()

    def sender(index):
        rng, client = random.Random(1000 + index), Client(plan["base_url"])
        for position in next_index:
            if position >= len(arrivals):
                return
            due = arrivals[position]
            time.sleep(max(0.0, due - time.monotonic()))
            request, member_key, org_first = traffic.pick(rng)
            send_lags.append(time.monotonic() - due)
            status = client.send(*request)
            done = time.monotonic()
            samples.append(Sample(due - started, (done - due) * 1000, due < warmup_end, org_first, status, member_key))

    _run_threads(sender, OPEN_LOOP_SENDERS, plan)
    return samples, max(send_lags, default=0.0) * 1000


def _run_threads(target, count, plan):
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(plan.get("warmup_seconds", 0) + plan["seconds"] + 60)


def percentile(ordered, fraction):
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _errors(statuses: Counter) -> int:
    return sum(count for status, count in statuses.items() if status >= 500 or status in (401, 403, 404))


def latency_figures(samples: list[Sample], seconds: float) -> dict:
    latencies = sorted(sample.latency_ms for sample in samples)
    return {
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / seconds, 1) if seconds else 0,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
    }


def summarize(samples: list[Sample], plan, elapsed: float) -> dict:
    warmup_seconds = plan.get("warmup_seconds", 0)
    measured = [sample for sample in samples if not sample.warmup]
    warmup = [sample for sample in samples if sample.warmup]
    statuses = Counter(sample.status for sample in samples)
    window = plan.get("window_seconds", 30)
    windows: dict[int, list[float]] = defaultdict(list)
    for sample in samples:
        windows[int(sample.offset_s // window)].append(sample.latency_ms)
    profile = [
        {"from_s": index * window, "requests": len(values), "p95_ms": round(percentile(sorted(values), 0.95), 2)}
        for index, values in sorted(windows.items())
    ]
    member_ok: dict = defaultdict(int)
    for sample in samples:
        if sample.member_key and sample.status == 201:
            member_ok[sample.member_key] += 1
    measured_seconds = max(0.0, elapsed - warmup_seconds)
    return {
        "mode": "open" if plan.get("rate") else "closed",
        **({"offered_rps": plan["rate"]} if plan.get("rate") else {"concurrency": plan["concurrency"]}),
        **latency_figures(measured, measured_seconds),
        "seconds": round(measured_seconds, 1),
        # Errors and statuses count the whole run, warm-up included: nothing is left out.
        "errors": _errors(statuses),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "warmup": {"seconds": warmup_seconds, **latency_figures(warmup, warmup_seconds)} if warmup_seconds else None,
        "org_first_requests": latency_figures([s for s in measured if s.org_first], measured_seconds),
        "org_later_requests": latency_figures([s for s in measured if not s.org_first], measured_seconds),
        "latency_profile": profile,
        "member_successes": dict(member_ok),
    }


def main() -> int:
    plan = json.load(sys.stdin)
    traffic = Traffic(plan)
    started = time.monotonic()
    warmup_end = started + plan.get("warmup_seconds", 0)
    deadline = warmup_end + plan["seconds"]
    extra = {}
    if plan.get("rate"):
        samples, max_send_lag_ms = run_open_loop(plan, traffic, started, warmup_end, deadline)
        # How late the client itself sent a request (all senders busy or its own CPU starved):
        # the latency already includes it, this says whether the client kept the schedule.
        extra["max_send_lag_ms"] = round(max_send_lag_ms, 1)
    else:
        samples = run_closed_loop(plan, traffic, started, warmup_end, deadline)
    elapsed = time.monotonic() - started
    json.dump({**summarize(samples, plan, elapsed), **extra}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
