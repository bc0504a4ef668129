from urllib.parse import urlsplit, urlunsplit

# Without DATABASE_URL / REDIS_URL, development and tests use the embedded servers that `make` starts.
from tooling import devservices

devservices.export_embedded_urls()

from .base import *  # noqa: E402, F403
from .base import CACHES, REDIS_URL, env  # noqa: E402


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The browser tests' live server (another process) writes its mail to files the tests can read;
# a test-only variable, so a developer's DJANGO_EMAIL_BACKEND (say SMTP) never reaches the suite.
EMAIL_BACKEND = env("ORGDASH_TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")

# Tests use their own Redis database, so a running `make run` and the suite never share keys or queues.
REDIS_URL = _redis_db(REDIS_URL, env.int("ORGDASH_TEST_REDIS_DB", default=9))
CACHES["default"]["LOCATION"] = REDIS_URL
CACHES["default"]["KEY_PREFIX"] = "orgdash-test"
CELERY_BROKER_URL = REDIS_URL

# Tests create and roll back orgs and domains, also under a live server in another process, which
# a cached host would outlive; the cache has tests of its own (tests/core/test_tenant_cache.py).
ORGDASH_TENANT_CACHE_SECONDS = 0
CELERY_TASK_TENANT_CACHE_SECONDS = 0

STATIC_ROOT = None  # served by the finders (WHITENOISE_USE_FINDERS)

# No spare org schemas unless a test asks for them (the pool's own tests; a worker they start
# gets its size from this test-only variable).
ORGDASH_SPARE_SCHEMAS = env.int("ORGDASH_TEST_SPARE_SCHEMAS", default=0)
