"""Production settings: refuse to start without a secret, pass `check --deploy`, strict headers."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

BASE_DIR = settings.BASE_DIR


# The servers this suite runs on, named the way production must name them.
SERVICES = {
    "DATABASE_URL": os.environ.get("DATABASE_URL") or os.environ["ORGDASH_EMBEDDED_DATABASE_URL"],
    "REDIS_URL": os.environ.get("REDIS_URL") or os.environ["ORGDASH_EMBEDDED_REDIS_URL"],
}


def _manage(*args, **env):
    # A production process starts from a clean environment (the browser tests relax async safety).
    dropped = {"DJANGO_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE", *SERVICES}
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith("ORGDASH_EMBEDDED_")
    }
    environment.update(DJANGO_SETTINGS_MODULE="orgdash.settings.production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", **SERVICES)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_a_database_url():
    """Production never falls back to the embedded development servers."""
    result = _manage("check", DJANGO_SECRET_KEY=secrets.token_urlsafe(64), REDIS_URL=SERVICES["REDIS_URL"])
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL" in result.stderr


def test_production_passes_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        ORGDASH_BASE_DOMAIN="orgdash.example.com",
        **SERVICES,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_allowed_hosts_follow_the_base_domain():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.ALLOWED_HOSTS, settings.SESSION_COOKIE_SECURE)",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        ORGDASH_BASE_DOMAIN="orgdash.example.com",
        **SERVICES,
    )
    assert result.returncode == 0, result.stderr
    assert "['orgdash.example.com', '.orgdash.example.com'] True" in result.stdout


def test_pages_carry_a_strict_content_security_policy(acme_client):
    response = acme_client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
