# Without DATABASE_URL / REDIS_URL, development and tests use the embedded servers that `make` starts.
from tooling import devservices

devservices.export_embedded_urls()

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = env.bool("DJANGO_DEBUG", default=True)

STATIC_ROOT = None  # served by the finders (WHITENOISE_USE_FINDERS)
# runserver answers each request in a thread of its own, so a persistent connection is never
# reused, only held: a page loading a dozen script modules at once would hold a dozen.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
