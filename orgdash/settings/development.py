# Without DATABASE_URL / REDIS_URL, development and tests use the embedded servers that `make` starts.
from tooling import devservices

devservices.export_embedded_urls()

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = env.bool("DJANGO_DEBUG", default=True)

STATIC_ROOT = None  # served by the finders (WHITENOISE_USE_FINDERS)
