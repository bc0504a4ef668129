"""The web tier is stateless: two gunicorn processes on different ports (as on two machines)
serve the same orgs, and a session begun on one is honoured by the other."""

import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.conftest import PASSWORD


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _gunicorn(port: int, secret_key: str):
    env = {
        **os.environ,
        # The test settings: the suite's people have its (fast) password hashes.
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_SECRET_KEY": secret_key,  # shared, as every machine of one deployment has
        "DJANGO_DATABASE_NAME": connection.settings_dict["NAME"],
        "REDIS_URL": settings.REDIS_URL,
        "ORGDASH_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "orgdash.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--log-level", "warning"],
        cwd=settings.BASE_DIR, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "acme.localhost"}, timeout=10).ok:
                    break
            except requests.RequestException:  # not listening yet, or still loading
                pass
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn starts"
            time.sleep(0.3)
        yield
    finally:
        process.terminate()
        process.wait(15)


def _cookies(response) -> dict[str, str]:
    return {cookie.name: cookie.value for cookie in response.cookies}


@pytest.mark.usefixtures("committed")
def test_a_session_begun_on_one_web_process_works_on_another():
    host = f"acme.{settings.ORGDASH_BASE_DOMAIN}"
    secret_key = secrets.token_urlsafe(64)
    first, second = _free_port(), _free_port()
    with _gunicorn(first, secret_key), _gunicorn(second, secret_key):
        page = requests.get(f"http://127.0.0.1:{first}/accounts/login/", headers={"Host": host}, timeout=10)
        csrf = _cookies(page)["csrftoken"]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        login = requests.post(
            f"http://127.0.0.1:{first}/accounts/login/",
            data={"email": "admin@acme.test", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Host": host, "Cookie": f"csrftoken={csrf}", "Referer": f"http://{host}/accounts/login/"},
            allow_redirects=False,
            timeout=10,
        )
        assert login.status_code == 302, login.text[:500]
        session = _cookies(login)["sessionid"]
        on_second = requests.get(
            f"http://127.0.0.1:{second}/api/v1/users/counts/",
            headers={"Host": host, "Cookie": f"sessionid={session}", "X-Orgdash-Background": "1"},
            timeout=10,
        )
        assert on_second.status_code == 200, on_second.text[:300]
        assert on_second.json()["total"] >= 3
        signed_out = requests.get(f"http://127.0.0.1:{second}/api/v1/users/counts/", headers={"Host": host}, timeout=10)
        assert signed_out.status_code in (401, 403)
