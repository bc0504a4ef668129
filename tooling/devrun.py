"""`make run`: the web server, a Celery worker and Celery beat in the foreground; Ctrl-C stops all."""

import os
import signal
import subprocess
import sys
import time

PYTHON = sys.executable


def _commands(port: str) -> dict[str, list[str]]:
    return {
        "web": [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"],
        "worker": [PYTHON, "-m", "celery", "-A", "orgdash", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [PYTHON, "-m", "celery", "-A", "orgdash", "beat", "--loglevel=INFO"],
    }


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orgdash.settings.development")
    from django.conf import settings  # noqa: F401  (fails early on bad configuration)

    port = os.environ.get("ORGDASH_PORT", "8000")
    base = os.environ.get("ORGDASH_BASE_DOMAIN", "localhost")
    processes = {name: subprocess.Popen(cmd) for name, cmd in _commands(port).items()}  # noqa: S603
    print(
        f"\n  orgdash is starting at http://acme.{base}:{port}/\n"
        "  Demo login: admin@acme.test / orgdash-demo\n"
        f"  Support staff admin: http://{base}:{port}/admin/\n  Ctrl-C stops everything.\n",
        flush=True,
    )
    exit_code = 0
    try:
        while True:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping the others", file=sys.stderr)
                    exit_code = proc.returncode or 1
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
