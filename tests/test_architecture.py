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
