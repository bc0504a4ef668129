"""Structure that must stay true: no first-party import inside a function in product code.

An import inside a function hides a dependency (usually one that would close an import circle)
from the reader and from lint-imports. The one accepted place is an AppConfig's ``ready()``,
Django's idiom for wiring signal receivers once the app registry is loaded.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("orgdash", "accounts", "activity", "scim", "hygiene")
FIRST_PARTY = {*PRODUCT_PACKAGES, "tooling", "tests"}
ALLOWED_FUNCTIONS = {"ready"}


def _product_modules() -> list[Path]:
    return sorted(
        path
        for package in PRODUCT_PACKAGES
        if (ROOT / package).is_dir()
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def _is_first_party(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in FIRST_PARTY
    return any(alias.name.split(".")[0] in FIRST_PARTY for alias in node.names)


def imports_inside_functions(source: str) -> list[tuple[int, str, str]]:
    """(line, function, import statement) for each first-party import inside a function."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if function and isinstance(child, (ast.Import, ast.ImportFrom)) and _is_first_party(child):
                found.append((child.lineno, function, ast.unparse(child)))
            visit(child, inner)

    visit(ast.parse(source), None)
    return found


def test_the_walk_finds_imports_in_functions_methods_and_nested_blocks():
    source = (
        "from accounts import services\n"
        "import json\n"
        "def queue():\n"
        "    import json\n"
        "    if True:\n"
        "        from accounts.tasks import send_invite_email\n"
        "class View:\n"
        "    def get(self):\n"
        "        from . import selectors\n"
        "        import orgdash.core.models\n"
        "    def ready(self):\n"
        "        from activity import signals\n"
    )

    assert [(line, function) for line, function, _ in imports_inside_functions(source)] == [
        (6, "queue"),
        (9, "get"),
        (10, "get"),
        (12, "ready"),
    ]


def test_product_code_has_no_first_party_import_inside_a_function():
    modules = _product_modules()
    assert any(path.name == "services.py" for path in modules)  # the walk sees the product
    offenders = [
        f"{path.relative_to(ROOT)}:{line} in {function}(): {statement}"
        for path in modules
        for line, function, statement in imports_inside_functions(path.read_text())
        if function not in ALLOWED_FUNCTIONS
    ]
    assert offenders == [], "\n".join(offenders)


@pytest.mark.parametrize("package", ["orgdash", "accounts", "activity"])
def test_each_product_package_is_walked(package):
    assert any(path.relative_to(ROOT).parts[0] == package for path in _product_modules())


# --- the audit trail has one writer ---------------------------------------------------------------

AUDIT_WRITER = ROOT / "accounts" / "audit_services.py"
AUDIT_WRITE_METHODS = {"create", "bulk_create", "get_or_create", "update_or_create"}


def audit_writes(source: str) -> list[tuple[int, str]]:
    """(line, call) for each ``AuditEvent(...)`` or ``AuditEvent.objects.<write>(...)``, and each
    ``audit_record``/``audit_record_many`` call whose action is a bare string instead of an ``AuditAction``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        is_direct_write = ast.unparse(func) == "AuditEvent" or (
            isinstance(func, ast.Attribute)
            and func.attr in AUDIT_WRITE_METHODS
            and ast.unparse(func.value) == "AuditEvent.objects"
        )
        if is_direct_write:
            found.append((node.lineno, ast.unparse(func)))
        elif getattr(func, "id", getattr(func, "attr", None)) in {"audit_record", "audit_record_many"}:
            action = next((keyword.value for keyword in node.keywords if keyword.arg == "action"), None)
            if isinstance(action, ast.Constant):
                found.append((node.lineno, f"{ast.unparse(func)}(action={action.value!r})"))
    return found


def test_the_audit_walk_finds_direct_writes_and_bare_actions():
    source = (
        "AuditEvent.objects.create(action='x')\n"
        "AuditEvent.objects.bulk_create([AuditEvent(action='x')])\n"
        "audit_record(action='invite.create')\n"
        "audit_services.audit_record_many(action='invite.cancel', targets=[])\n"
        "audit_record(action=AuditAction.INVITE_CREATE)\n"
        "AuditEvent.objects.filter(action='x').exists()\n"
    )
    assert sorted(line for line, _ in audit_writes(source)) == [1, 2, 2, 3, 4]


def test_audit_rows_are_written_only_by_the_audit_writer_with_typed_actions():
    modules = [*_product_modules(), *sorted((ROOT / "tooling").rglob("*.py"))]
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for path in modules
        for line, call in audit_writes(path.read_text())
        if path != AUDIT_WRITER or "action=" in call
    ]
    assert offenders == [], "\n".join(offenders)


# --- one API style --------------------------------------------------------------------------------

API_APPS = ("accounts", "activity", "hygiene")


def _classes(path: Path) -> list[ast.ClassDef]:
    return [node for node in ast.parse(path.read_text()).body if isinstance(node, ast.ClassDef)]


@pytest.mark.parametrize("app", API_APPS)
def test_each_api_package_has_urls_views_and_serializers_only(app):
    modules = {path.name for path in (ROOT / app / "api").glob("*.py")} - {"__init__.py"}
    assert {"urls.py", "views.py", "serializers.py"} <= modules
    # API plumbing shared by the apps' endpoints (authentication, permissions) is allowed beside them.
    assert modules - {"urls.py", "views.py", "serializers.py", "authentication.py", "permissions.py"} == set()


@pytest.mark.parametrize("app", API_APPS)
def test_api_views_are_named_api_and_hold_no_serializer(app):
    views = _classes(ROOT / app / "api" / "views.py")
    endpoints = [view for view in views if any(ast.unparse(base).endswith(("APIView", "Api")) for base in view.bases)]
    assert endpoints, "the walk sees the views"
    assert [view.name for view in endpoints if not view.name.lstrip("_").endswith("Api")] == []
    nested = [
        f"{view.name}.{inner.name}"
        for view in views
        for inner in view.body
        if isinstance(inner, ast.ClassDef) and "Serializer" in "".join(ast.unparse(base) for base in inner.bases)
    ]
    assert nested == []
    assert [view.name for view in views if view.name.endswith("Serializer")] == []


@pytest.mark.parametrize("app", API_APPS)
def test_api_serializers_say_whether_they_read_or_answer(app):
    names = [node.name for node in _classes(ROOT / app / "api" / "serializers.py")]
    serializers = [name for name in names if name.endswith("Serializer")]
    assert serializers, "the walk sees the serializers"
    # A resource whose body is the same both ways (PUT settings, PATCH me) keeps one plain name.
    both_ways = {"DormancyPolicySerializer", "ReportSettingsSerializer", "MeSerializer"}
    assert [
        name
        for name in serializers
        if not name.endswith(("InputSerializer", "OutputSerializer")) and name not in both_ways
    ] == []


# --- services raise domain errors -----------------------------------------------------------------


def raised_framework_errors(source: str) -> list[tuple[int, str]]:
    """(line, exception) for each ``raise`` of a Django or DRF validation error or API exception."""
    tree = ast.parse(source)
    framework_names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("django", "rest_framework"))
        for alias in node.names
    } | {"serializers", "exceptions", "forms"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            raised = ast.unparse(node.exc.func)
            if raised.split(".")[0] in framework_names:
                found.append((node.lineno, raised))
    return found


def test_the_raise_walk_finds_framework_errors_only():
    source = (
        "from django.core.exceptions import ValidationError\n"
        "from orgdash.errors import InvalidInput\n"
        "raise ValidationError({'a': ['b']})\n"
        "raise InvalidInput(errors={'a': ['b']})\n"
        "raise serializers.ValidationError('x')\n"
    )
    assert sorted(line for line, _ in raised_framework_errors(source)) == [3, 5]


def test_services_raise_domain_errors_not_framework_ones():
    modules = [path for path in _product_modules() if path.name.endswith("services.py")]
    assert len(modules) > 3, "the walk sees the services"
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: raise {raised}"
        for path in modules
        for line, raised in raised_framework_errors(path.read_text())
    ]
    assert offenders == [], "\n".join(offenders)
