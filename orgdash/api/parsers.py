"""How request bodies are read as JSON: by the API (``JSONParser``) and by SCIM (``loads_json``).

A body nested thousands of levels deep makes Python's decoder raise ``RecursionError``, and a
few hundred levels still reach the recursion limit in code that walks the data afterwards. No
body any endpoint takes is nested more than a handful of levels, so deeper ones are refused.
"""

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 64


class JSONNestedTooDeeply(ValueError):
    def __init__(self):
        super().__init__(f"The JSON body is nested too deeply (more than {MAX_JSON_DEPTH} levels).")


_CONTAINERS = (dict, list)  # all the JSON decoder makes: exact types, cheaper to test than isinstance


def nesting_exceeds(data, *, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether decoded JSON holds arrays or objects more than ``limit`` levels deep, walked one
    level at a time (not recursively, so any depth is measured; about 2 ms for 10,000 events)."""
    level = [data] if type(data) in _CONTAINERS else []
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if type(node) is dict else node)
            if type(child) in _CONTAINERS
        ]
        if not level:
            return False
    return True


def loads_json(text: str, **options):
    """``json.loads``; a body nested too deeply raises ``JSONNestedTooDeeply`` (a ``ValueError``)."""
    try:
        data = json.loads(text, **options)
    except RecursionError:
        raise JSONNestedTooDeeply() from None
    if nesting_exceeds(data):
        raise JSONNestedTooDeeply()
    return data


class JSONParser(parsers.JSONParser):
    """DRF's, refusing a body nested too deeply with a 400 like any other malformed JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(str(JSONNestedTooDeeply())) from None
        if nesting_exceeds(data):
            raise ParseError(str(JSONNestedTooDeeply()))
        return data
