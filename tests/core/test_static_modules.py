"""Page scripts are native ES modules: browsers run them only when served with a JavaScript
MIME type, and in production every import must name the hashed file that collectstatic wrote."""

import json
import re

import pytest
from django.core.management import call_command
from django.test import override_settings

IMPORT = re.compile(r"""(?:import|export)\s[^;]*?from\s*["']([^"']+)["']\s*;|import\s*["']([^"']+)["']\s*;""")
HASHED = re.compile(r"\.[0-9a-f]{12}\.js$")


@pytest.mark.parametrize(
    "path",
    ["orgdash/users.js", "orgdash/users/list.js", "orgdash/lib/api.js", "hygiene/settings.js", "vendor/chart.umd.js"],
)
def test_page_scripts_are_served_as_javascript(acme_client, path):
    response = acme_client.get(f"/static/{path}")
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "text/javascript"


def test_collected_modules_import_their_neighbours_by_hashed_name(tmp_path):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "orgdash.core.static_storage.ModuleStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    modules = [name for name in manifest if name.endswith(".js") and name.split("/")[0] in {"orgdash", "hygiene"}]
    assert "orgdash/users.js" in modules and "orgdash/users/table.js" in modules

    checked = 0
    for name in modules:
        hashed = tmp_path / manifest[name]
        for match in IMPORT.finditer(hashed.read_text()):
            target = match.group(1) or match.group(2)
            assert HASHED.search(target), f"{manifest[name]} imports {target} by its plain name"
            assert (hashed.parent / target).resolve().is_file(), f"{manifest[name]} imports a missing {target}"
            checked += 1
    assert checked > 30  # the Users tab alone imports its dozen modules
