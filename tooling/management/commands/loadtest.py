import contextlib
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import ApiKey, Membership, Role
from orgdash.core.models import Organization
from orgdash.core.services import organization_host
from tooling.benchmark.keys import temporary_key_create, temporary_keys_discard


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MemorySampler(threading.Thread):
    """Resident memory of the web server's processes, once a second, to show a flat profile."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(1.0):
            try:
                processes = [self.root, *self.root.children(recursive=True)]
                self.samples.append(sum(p.memory_info().rss for p in processes) / 1_000_000)
            except psutil.Error:
                pass


class DatabaseSessionSampler(threading.Thread):
    """The stack's PostgreSQL sessions, once a second: how many, and at the end their private
    memory (a session keeps the tables and indexes of every org it has served in its caches)."""

    QUERY = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )

    def __init__(self):
        super().__init__(daemon=True)
        self.counts: list[int] = []
        self.private_mb: list[float] = []
        self.stop = threading.Event()

    def run(self):
        pids: list[int] = []
        try:
            while not self.stop.wait(1.0):
                with connection.cursor() as cursor:
                    cursor.execute(self.QUERY)
                    pids = [pid for (pid,) in cursor.fetchall()]
                self.counts.append(len(pids))
            for pid in pids:
                with contextlib.suppress(psutil.Error):  # a server on another host, or a session that ended
                    self.private_mb.append(psutil.Process(pid).memory_full_info().uss / 1_000_000)
        finally:
            connection.close()


class Command(BaseCommand):
    help = (
        "Runs gunicorn (production settings), a Celery worker and beat against an org, drives a bounded "
        "mixed load from another process, then checks that all the activity it generated was recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench")
        parser.add_argument(
            "--orgs",
            type=int,
            default=0,
            help="many-orgs mode: spread the load over the first N orgs whose slug starts with --org-prefix",
        )
        parser.add_argument("--org-prefix", default="many-", help="see --orgs (benchmark_orgs makes many-00001 ...)")
        parser.add_argument("--seconds", type=int, default=60, help="the measured part of the run")
        parser.add_argument(
            "--warmup",
            type=int,
            default=0,
            help="seconds of the same load first, reported apart (a long-running instance is warm)",
        )
        parser.add_argument(
            "--concurrency", type=int, default=8, help="closed loop: clients, each waiting for its answer"
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=0,
            help="open loop instead: requests a second arrive whatever the server does; latency from when each was due",
        )
        parser.add_argument(
            "--worker-nice",
            type=int,
            default=0,
            help="niceness of the Celery worker (e.g. 10: the web tier gets the CPU first)",
        )
        parser.add_argument("--members", type=int, default=200, help="members whose API keys drive the load")
        parser.add_argument("--json", dest="json_path")

    def handle(
        self,
        *args,
        org,
        orgs,
        org_prefix,
        seconds,
        warmup,
        concurrency,
        rate,
        worker_nice,
        members,
        json_path,
        **options,
    ):
        if orgs:
            organizations = list(
                Organization.objects.filter(slug__startswith=org_prefix)
                .exclude(schema_name="public")
                .order_by("slug")[:orgs]
            )
            if len(organizations) < orgs:
                raise CommandError(
                    f"Only {len(organizations)} orgs start with '{org_prefix}'; make them: benchmark_orgs --orgs {orgs}"
                )
        else:
            organization = Organization.objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"No organization '{org}'. Seed one: manage.py seed_demo --org {org} ...")
            organizations = [organization]
        host = organization_host(organizations[0])
        first_day = timezone.now().date()
        # Each org's keys, and which host they belong to (a key only works on its org's host).
        per_org, key_hosts, member_keys, admin_keys, pages = {}, {}, [], [], 1
        for organization in organizations:
            with tenant_context(organization):
                keys, baseline = self._prepare(max(1, members // len(organizations)))
                pages = max(pages, min(100, Membership.objects.count() // 50))
            per_org[organization.pk] = (organization, keys, baseline)
            org_host = organization_host(organization)
            for secret in [*keys["member"], *keys["admin"]]:
                key_hosts[secret] = org_host
            member_keys.extend(keys["member"])
            admin_keys.extend(keys["admin"])
        port = _free_port()
        processes = self._start_stack(port, worker_nice=worker_nice)
        try:
            self._wait_healthy(port, host)
            sampler = MemorySampler(processes[0].pid)
            sampler.start()
            sessions = DatabaseSessionSampler()
            sessions.start()
            plan = {
                "base_url": f"http://127.0.0.1:{port}",
                "host": host,
                "seconds": seconds,
                "warmup_seconds": warmup,
                "concurrency": concurrency,
                "rate": rate,
                "member_keys": member_keys,
                "admin_keys": admin_keys,
                "key_hosts": key_hosts if orgs else {},
                "pages": pages,
            }
            shape = f"{rate:g} requests a second (open loop)" if rate else f"{concurrency} concurrent clients"
            self.stdout.write(f"driving load for {warmup}s of warm-up and {seconds}s with {shape} ...")
            result = subprocess.run(
                [sys.executable, "-m", "tooling.benchmark.loadgen"],
                input=json.dumps(plan),
                capture_output=True,
                text=True,
                check=True,
            )
            sampler.stop.set()
            sessions.stop.set()
            sessions.join(10)
            summary = json.loads(result.stdout)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
        # A load running past midnight (UTC) records its later calls on the next day.
        days = (first_day, timezone.now().date())
        check: dict = {}
        for organization, keys, baseline in per_org.values():
            with tenant_context(organization):
                successes = {key: summary["member_successes"].get(key, 0) for key in keys["member"]}
                for name, value in self._check_activity(keys["member"], successes, baseline, days).items():
                    check[name] = check.get(name, 0) + value
                temporary_keys_discard(ApiKey.objects.filter(label="loadtest"))
        if orgs:
            check["orgs"] = len(organizations)
            check["orgs_with_load"] = sum(
                1 for _, keys, _ in per_org.values() if any(summary["member_successes"].get(k) for k in keys["member"])
            )
        memory = sampler.samples
        report = {
            **{k: v for k, v in summary.items() if k not in ("member_successes", "latency_profile")},
            "web_rss_mb_first": round(memory[0], 1) if memory else None,
            "web_rss_mb_last": round(memory[-1], 1) if memory else None,
            "web_rss_mb_peak": round(max(memory), 1) if memory else None,
            "db_sessions_peak": max(sessions.counts, default=None),
            "db_session_private_mb_mean": (
                round(sum(sessions.private_mb) / len(sessions.private_mb), 1) if sessions.private_mb else None
            ),
            **check,
        }
        passed = report["errors"] == 0 and check["activity_lost"] == 0 and check["double_counted"] == 0
        report["meets"] = passed and report["p95_ms"] <= 100
        for key, value in report.items():
            self.stdout.write(f"{key:>24}: {value}")
        # Latency and memory over the run, window by window: both should stay flat.
        report["latency_profile"] = summary["latency_profile"]
        report["web_rss_mb_samples"] = [round(sample, 1) for sample in memory]
        windows = ", ".join(str(window["p95_ms"]) for window in summary["latency_profile"])
        self.stdout.write(f"  p95 by 30 s window (ms): {windows}")
        step = max(1, len(memory) // 10)
        self.stdout.write("  web RSS over the run (MB): " + ", ".join(f"{m:.0f}" for m in memory[::step]))
        self.stdout.write("PASS" if report["meets"] else "FAIL (see above)")
        if json_path:
            with open(json_path, "w") as handle:
                json.dump(report, handle, indent=2)
        if not report["meets"]:
            raise SystemExit(1)

    def _prepare(self, members: int):
        joined = Membership.objects.filter(state=Membership.State.JOINED)
        chosen = list(joined.exclude(role=Role.ADMIN).order_by("id")[:members])
        admins = list(joined.filter(role=Role.ADMIN).order_by("id")[:3])
        if not chosen or not admins:
            raise CommandError("The org needs joined members and admins; seed it first.")
        keys = {"member": {}, "admin": []}
        for membership in chosen:
            _, secret = temporary_key_create(membership=membership, label="loadtest")
            keys["member"][secret] = membership.id
        for membership in admins:
            _, secret = temporary_key_create(membership=membership, label="loadtest")
            keys["admin"].append(secret)
        return keys, {"runs": self._run_count()}

    @staticmethod
    def _run_count() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM activity_run")
            return cursor.fetchone()[0]

    def _check_activity(self, member_keys, successes, baseline, days: tuple[dt.date, dt.date]) -> dict:
        """Every member whose call succeeded has a day row with a run in it within ``days`` (the
        load's first and last day); the day counters equal the rows; the runs table grew by exactly
        the successful calls."""
        active_ids = {member_keys[key] for key, count in successes.items() if count}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM unnest(%s::bigint[]) AS m(id) WHERE NOT EXISTS ("
                " SELECT 1 FROM activity_activityday a WHERE a.membership_id = m.id"
                " AND a.day BETWEEN %s AND %s AND a.kinds & 4 = 4)",
                [list(active_ids), *days],
            )
            lost = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM accounts_membership m WHERE m.id = ANY(%s) AND m.days_active <> ("
                " SELECT count(*) FROM activity_activityday a WHERE a.membership_id = m.id)",
                [list(member_keys.values())],
            )
            double_counted = cursor.fetchone()[0]
        runs_added = self._run_count() - baseline["runs"]
        expected_runs = sum(successes.values())
        return {
            "members_active_in_load": len(active_ids),
            "activity_lost": lost + max(0, expected_runs - runs_added),
            "double_counted": double_counted + max(0, runs_added - expected_runs),
            "runs_recorded": runs_added,
            "runs_expected": expected_runs,
        }

    def _start_stack(self, port: int, *, worker_nice: int) -> list[subprocess.Popen]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "orgdash.settings.production",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(64),
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "ORGDASH_PORT": str(port),
            # No spare org schemas: their refill is DDL in the one worker, off the path measured here
            # (benchmark_orgs measures it), and would be left behind in the database.
            "ORGDASH_SPARE_SCHEMAS": "0",
        }
        # The stack uses this process's database and Redis (its de-duplication keys must describe
        # the same database the check reads).
        env["DJANGO_DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
        env["DATABASE_URL"] = settings.DATABASE_URL
        env["REDIS_URL"] = settings.REDIS_URL
        env.pop("CELERY_BROKER_URL", None)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            env=env,
            check=True,
            cwd=settings.BASE_DIR,
        )
        python = sys.executable
        commands = [
            # The production settings of orgdash/gunicorn.conf.py (workers, threads, preload).
            [
                python,
                "-m",
                "gunicorn",
                "--config",
                "orgdash/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            # With --worker-nice, the aggregates' refresh yields the CPU to requests (its database session does not).
            [
                "nice",
                "-n",
                str(worker_nice),
                python,
                "-m",
                "celery",
                "-A",
                "orgdash",
                "worker",
                "--loglevel=WARNING",
                "--concurrency=1",
            ],
            [
                python,
                "-m",
                "celery",
                "-A",
                "orgdash",
                "beat",
                "--loglevel=WARNING",
                "--schedule",
                str(settings.BASE_DIR / ".devdata" / "loadtest-beat-schedule"),
            ],
        ]
        return [subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR) for cmd in commands]  # noqa: S603

    @staticmethod
    def _wait_healthy(port: int, host: str) -> None:
        deadline = time.monotonic() + 120  # a loaded machine starts the stack slowly
        while time.monotonic() < deadline:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
                if urllib.request.urlopen(request, timeout=2).status == 200:  # noqa: S310
                    return
            except OSError:
                time.sleep(0.5)
        raise CommandError("the web server did not become healthy within 120 s")
