"""Every PostgreSQL session orgdash opens runs without the JIT compiler (orgdash/settings/base.py):
its statements are short, and compiling one cost 50-100 ms where it runs in under 1 ms."""

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activity import selectors


def test_django_sessions_run_without_jit(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_sessions_opened_from_djangos_parameters_run_without_jit(db):
    # As the benchmark opens its raw session for the references.
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as session:
        assert session.execute("SHOW jit").fetchone()[0] == "off"


def test_a_chart_read_is_not_compiled_whatever_its_estimated_cost(in_acme):
    with connection.cursor() as cursor:
        # pg_jit_available() also answers false where jit is off: asked with it on, then back to the session's.
        cursor.execute("SET LOCAL jit = on")
        cursor.execute("SELECT pg_jit_available()")
        (compiler_installed,) = cursor.fetchone()
        cursor.execute("RESET jit")
        if not compiler_installed:
            pytest.skip("this PostgreSQL was built without LLVM: it has no JIT to turn off")
        # A table without statistics makes the planner over-estimate; here every cost is over the bar.
        for threshold in ("jit_above_cost", "jit_inline_above_cost", "jit_optimize_above_cost"):
            cursor.execute(f"SET LOCAL {threshold} = 0")
        with CaptureQueriesContext(connection) as queries:
            selectors.activity_summary(period="6m")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + queries.captured_queries[-1]["sql"])
        (explained,) = cursor.fetchone()[0]
    assert "Plan" in explained
    assert "JIT" not in explained
