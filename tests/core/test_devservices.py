"""The embedded PostgreSQL and Redis: started in a folder of their own, reused, restarted where they
were after they die, stopped cleanly."""

import os
import subprocess
import sys
import textwrap

from django.conf import settings

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from tooling import devservices as d
    action = sys.argv[1]
    if action == "start":
        d.start_postgres(); d.start_redis()
        pid = open(d.PG_DIR / "postmaster.pid").read().split()[0]
        print("pg", pid, d.pg_running(), "redis", d._redis_port(), d._port_answers(d._redis_port()))
        import psycopg
        with psycopg.connect(d.database_url()) as conn:
            print("select", conn.execute("select 1").fetchone()[0])
    elif action == "kill":
        import signal
        os.kill(int(open(d.REDIS_DIR / "redis.pid").read()), signal.SIGKILL)
        pg_pid = int(open(d.PG_DIR / "postmaster.pid").read().split()[0])
        os.kill(pg_pid, signal.SIGKILL)
        import time
        deadline = time.monotonic() + 10
        while d._pid_alive(pg_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        print("killed", d.redis_running(), d.pg_running())
    else:
        port = d._redis_port()
        d.stop()
        print("stopped", d.pg_running(), d._port_answers(port))
    """
)


def _run(data_dir, action):
    env = {**os.environ, "ORGDASH_DEVDATA": str(data_dir)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, action], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")


def test_embedded_services_start_are_reused_and_stop(tmp_path):
    data_dir = tmp_path / "devdata"
    first = _run(data_dir, "start")
    try:
        _, pid, running, _, port, answers = first[0].split()
        assert running == "True" and answers == "True"
        assert port not in ("0", "6379")
        assert first[1] == "select 1"
        # PostgreSQL listens on a Unix socket in the data folder, never on a TCP port.
        assert (data_dir / "pg" / ".s.PGSQL.5432").exists()
        second = _run(data_dir, "start")
        assert second[0].split()[1] == pid, "a running server is reused, not started again"
        assert second[0].split()[4] == port

        # Both die; the next start brings them back where running processes look for them.
        assert _run(data_dir, "kill")[0] == "killed False False"
        third = _run(data_dir, "start")
        assert third[0].split()[1] != pid, "a new server was started"
        assert third[0].split()[4] == port, "Redis comes back on the port it had"
        assert third[1] == "select 1", "PostgreSQL answers on the same socket"
    finally:
        stopped = _run(data_dir, "stop")
    assert stopped[0] == "stopped False False"
