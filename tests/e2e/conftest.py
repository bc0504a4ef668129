"""Browser tests: Debian's Chromium driven by Playwright against a live server process.

The server is a real `manage.py runserver` subprocess on the test database (so it sees the data the
tests commit), reached at http://acme.localhost:PORT/. Data for these tests is committed (not
rolled back), so each test creates what it needs under unique names and removes it afterwards.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from orgdash.core.models import LoginThrottle

BASE_DIR = Path(settings.BASE_DIR)
ARTIFACTS = BASE_DIR / "test-artifacts"
# One mail folder per test run, so parallel runs never read each other's mail.
LIVE_SERVER_MAIL_DIR = Path(tempfile.gettempdir()) / f"orgdash-e2e-mail-{os.getpid()}"
CHROMIUM = os.environ.get("ORGDASH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the tests
# themselves (to set up data) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server_port(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        database_name = connection.settings_dict["NAME"]
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": database_name,
        "ORGDASH_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        # runserver answers each request in a thread of its own: a persistent connection is never
        # reused, only held, and a page's parallel module requests would exhaust the server's.
        "DJANGO_CONN_MAX_AGE": "0",
        # Mail goes to files the tests read (see sent_mail); Celery tasks (invite e-mails) run
        # in the server process when their transaction commits, as no worker runs beside it.
        "ORGDASH_TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(LIVE_SERVER_MAIL_DIR),
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "live-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"live server did not start; see {ARTIFACTS / 'live-server.log'}")
            time.sleep(0.2)
    yield port
    server.terminate()
    server.wait(10)
    log.close()
    shutil.rmtree(LIVE_SERVER_MAIL_DIR, ignore_errors=True)


def org_url(slug: str, port: int, path: str = "/") -> str:
    return f"http://{slug}.{settings.ORGDASH_BASE_DOMAIN}:{port}{path}"


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server_port, django_db_blocker):
    """Opens pages in fresh browser contexts (separate cookie jars); closes them after the test.
    Failed log-ins the live server committed are forgotten before and after, so one test's refused
    log-ins never count towards locking the next test out (every browser comes from 127.0.0.1)."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        LoginThrottle.objects.all().delete()
    contexts = []

    def open_page(viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1366, "height": 900}, accept_downloads=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        LoginThrottle.objects.all().delete()


@pytest.fixture
def page(new_page):
    return new_page()


def submit_log_in(page, port: int, slug: str, email: str, password: str):
    """Fills in and sends the log-in form, whatever the outcome (for tests of refused log-ins)."""
    page.goto(org_url(slug, port, "/accounts/login/"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def log_in(page, port: int, slug: str, email: str, password: str):
    """Logs in and checks that it worked: the form let the person through and a session exists."""
    submit_log_in(page, port, slug, email, password)
    if "/accounts/login/" in page.url:
        alerts = page.get_by_role("alert").all_inner_texts()
        pytest.fail(f"log-in as {email} at {slug} was refused: {alerts or page.title()}")
    cookies = page.context.cookies(org_url(slug, port))
    assert any(cookie["name"] == "sessionid" for cookie in cookies), f"no session after logging in as {email}"


def sent_mail(to: str) -> list[EmailMessage]:
    """The messages the live server has sent to ``to``, oldest first (parsed, bodies decoded)."""
    if not LIVE_SERVER_MAIL_DIR.exists():
        return []
    messages = []
    for path in sorted(LIVE_SERVER_MAIL_DIR.glob("*.log"), key=lambda p: p.stat().st_mtime):
        # The file backend writes each message of a connection followed by a line of dashes.
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                message = BytesParser(policy=policy.default).parsebytes(raw.lstrip())
                if to.lower() in str(message["To"] or "").lower():
                    messages.append(message)
    return messages


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
