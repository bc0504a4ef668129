import environ

from .base import *  # noqa: F403
from .base import ORGDASH_BASE_DOMAIN, env

DEBUG = False
# Refuse to start without a real secret.
SECRET_KEY = env("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters")

# No embedded servers in production: both services must be named.
for _name in ("DATABASE_URL", "REDIS_URL"):
    if not env(_name, default=""):
        raise environ.ImproperlyConfigured(f"{_name} must be set in production (embedded servers are for development)")

ALLOWED_HOSTS = [ORGDASH_BASE_DOMAIN, f".{ORGDASH_BASE_DOMAIN}"]

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
ORGDASH_PUBLIC_URL_SCHEME = env("ORGDASH_URL_SCHEME", default="https")

STORAGES["staticfiles"]["BACKEND"] = "orgdash.core.static_storage.ModuleStaticFilesStorage"
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
