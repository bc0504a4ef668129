"""Static files in production: hashed names (cached for a year), compressed copies, and page
modules whose imports name their neighbours' hashed files too."""

from whitenoise.storage import CompressedManifestStaticFilesStorage

# A static import or re-export at the start of a line, of a relative path: the statement cannot
# reach across a semicolon or a quote. Django's own patterns start at any "export" word, so a
# comment such as "the export link." followed by an import is rewritten twice and breaks.
_STATIC_IMPORT = r"""(?m)(?P<matched>^{keyword}(?P<{group}>\s[^;'"]*?)\s*from\s*["'](?P<url>\.{{1,2}}/[^"']+)["'];)"""


class ModuleStaticFilesStorage(CompressedManifestStaticFilesStorage):
    # Django leaves `import ... from "./list.js"` alone by default: the browser would then load the
    # unhashed neighbour (short cache) beside a hashed entry point and could mix two releases.
    support_js_module_import_aggregation = True
    _js_module_import_aggregation_patterns = (
        "*.js",
        (
            (_STATIC_IMPORT.format(keyword="import", group="import"), 'import%(import)s from "%(url)s";'),
            (_STATIC_IMPORT.format(keyword="export", group="exports"), 'export%(exports)s from "%(url)s";'),
            (r"""(?m)(?P<matched>^import\s*["'](?P<url>\.{1,2}/[^"']+)["'];)""", 'import "%(url)s";'),
        ),
    )
