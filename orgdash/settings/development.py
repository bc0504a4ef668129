from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

STATIC_ROOT = None  # served by the finders (WHITENOISE_USE_FINDERS)
