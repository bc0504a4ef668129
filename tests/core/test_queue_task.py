"""Services queue tasks by name (``orgdash.celery.queue_task``): every name they use must be a task."""

import ast
from pathlib import Path

from orgdash.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def _queued_names() -> set[str]:
    """The task names passed to ``queue_task`` in product code (string literals or module constants)."""
    names = set()
    for path in [*ROOT.glob("accounts/**/*.py"), *ROOT.glob("activity/**/*.py")]:
        tree = ast.parse(path.read_text())
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "queue_task" and node.args:
                first = node.args[0]
                names.add(first.value if isinstance(first, ast.Constant) else constants.get(getattr(first, "id", "")))
    return names


def test_every_task_name_a_service_queues_is_a_registered_task():
    celery_app.loader.import_default_modules()
    names = _queued_names()

    assert {"accounts.tasks.send_invite_email", "activity.tasks.catch_up_membership_stats"} <= names
    assert None not in names, "queue_task called with a name that is not a literal or module constant"
    assert sorted(name for name in names if name not in celery_app.tasks) == []
