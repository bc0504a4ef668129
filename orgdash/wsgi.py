import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orgdash.settings.production")

application = get_wsgi_application()

# Django imports a URLconf, and with it every view and its libraries, on the first request that
# needs it: seconds for the org URLconf (the SCIM models), which a fresh worker's first
# request would wait for. Done here, a worker pays it while starting, before it takes requests.
for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
    get_resolver(urlconf).url_patterns  # noqa: B018 (loads the URLconf)
