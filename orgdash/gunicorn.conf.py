"""gunicorn's settings for orgdash in production: `gunicorn --config orgdash/gunicorn.conf.py` from the
project directory (`make loadtest` runs the web server so). Not named for gunicorn to pick up by
itself, so servers started with their own flags (the tests') keep them. Figures: docs/scaling.md."""

import os

wsgi_app = "orgdash.wsgi:application"
bind = os.environ.get("ORGDASH_BIND", f"127.0.0.1:{os.environ.get('ORGDASH_PORT', '8000')}")

# One process per core, each with threads: a request spends part of its time waiting for PostgreSQL,
# which another thread uses. Every thread holds its own database session. Over 1,000 orgs, 4 or 2
# threads a worker (fewer, warmer sessions) measured no faster than 8, and 2 blocked behind slow
# requests (docs/scaling.md).
# The cores this process may run on (not the host's, in a container pinned to a few). Budget the
# database sessions: instances * workers * threads, plus Celery, under PostgreSQL's max_connections.
workers = int(os.environ.get("WEB_CONCURRENCY", len(os.sched_getaffinity(0))))
worker_class = "gthread"
threads = int(os.environ.get("ORGDASH_WEB_THREADS", 8))

# The application (every URLconf, see orgdash/wsgi.py) is loaded once, before the workers fork,
# rather than by each worker at once on a machine with few cores.
preload_app = True
# Workers are not recycled after a number of requests: a new worker starts with cold sessions.
max_requests = 0
