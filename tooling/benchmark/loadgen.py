"""A bounded mixed load against a running orgdash, from its own process (``make loadtest``).

Reads a plan (JSON on stdin: base URL, host, member and admin API keys, duration, concurrency),
drives members calling the API (which is activity) and admins listing users, exporting and opening
charts, and prints a JSON summary: requests, errors, throughput, latency percentiles, and for each
member key how many of its requests succeeded (the activity the load generated).
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict
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


def _weighted(choices, rng):
    total = sum(weight for weight, _ in choices)
    pick = rng.uniform(0, total)
    for weight, value in choices:
        pick -= weight
        if pick <= 0:
            return value
    return choices[-1][1]


class Worker(threading.Thread):
    def __init__(self, plan, index, deadline, results):
        super().__init__(daemon=True)
        self.plan = plan
        self.rng = random.Random(index)
        self.deadline = deadline
        self.results = results
        parts = urlsplit(plan["base_url"])
        self.address = (parts.hostname, parts.port or 80)

    def run(self):
        connection = http.client.HTTPConnection(*self.address, timeout=30)
        latencies, statuses, member_ok = [], Counter(), Counter()
        started_at = time.monotonic()
        while time.monotonic() < self.deadline:
            as_member = self.rng.random() < self.plan.get("member_share", 0.6)
            if as_member:
                key = self.rng.choice(self.plan["member_keys"])
                method, path = "POST", "/api/v1/runs/"
                body = json.dumps({"project": "load", "name": f"run-{self.rng.randrange(10**9)}"})
            else:
                key = self.rng.choice(self.plan["admin_keys"])
                page = self.rng.randint(1, self.plan.get("pages", 1))
                method, path, body = "GET", _weighted(ADMIN_PATHS, self.rng).format(page=page), None
            # Many-orgs mode: each key belongs to one org's host.
            host = self.plan.get("key_hosts", {}).get(key, self.plan["host"])
            headers = {"Host": host, "Authorization": f"Bearer {key}"}
            if body:
                headers["Content-Type"] = "application/json"
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 599
                connection.close()
                connection = http.client.HTTPConnection(*self.address, timeout=30)
            latencies.append((time.monotonic() - started_at, (time.perf_counter() - started) * 1000))
            statuses[status] += 1
            if as_member and status == 201:
                member_ok[key] += 1
        self.results.append((latencies, statuses, member_ok))


def percentile(ordered, fraction):
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    plan = json.load(sys.stdin)
    deadline = time.monotonic() + plan["seconds"]
    results: list = []
    workers = [Worker(plan, i, deadline, results) for i in range(plan["concurrency"])]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(plan["seconds"] + 60)
    elapsed = time.monotonic() - started
    timed = [x for result in results for x in result[0]]
    latencies = sorted(latency for _, latency in timed)
    window = plan.get("window_seconds", 30)
    windows: dict[int, list[float]] = defaultdict(list)
    for offset, latency in timed:
        windows[int(offset // window)].append(latency)
    profile = [
        {"from_s": index * window, "requests": len(values), "p95_ms": round(percentile(sorted(values), 0.95), 2)}
        for index, values in sorted(windows.items())
    ]
    statuses: Counter = Counter()
    member_ok: dict = defaultdict(int)
    for _, s, ok in results:
        statuses.update(s)
        for key, count in ok.items():
            member_ok[key] += count
    errors = sum(count for status, count in statuses.items() if status >= 500 or status in (401, 403, 404))
    json.dump(
        {
            "requests": len(latencies),
            "seconds": round(elapsed, 1),
            "throughput_rps": round(len(latencies) / elapsed, 1) if elapsed else 0,
            "errors": errors,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "p50_ms": round(percentile(latencies, 0.50), 2),
            "p95_ms": round(percentile(latencies, 0.95), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "latency_profile": profile,
            "member_successes": dict(member_ok),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
