import logging

from django.db import connection
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure means unhealthy; the reason goes to the log
        logger.warning("health check: database unavailable: %s", exc)
        connection.close()
        return "unavailable"


def _check_redis() -> str:
    try:
        get_redis_connection("default").ping()
        return "ok"
    except Exception as exc:
        logger.warning("health check: redis unavailable: %s", exc)
        return "unavailable"


def health_report() -> tuple[dict, bool]:
    report = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in report.values())
    return {"status": "ok" if healthy else "unavailable", **report}, healthy
