"""The API's one body parser: JSON, refused (not a 500 deeper down) when it nests past
Python's recursion limit (400: no JSON document a client means is that deep) or holds text no
database column can store (422: valid JSON, refused by the portal's rules, as the schema cannot
say which strings those are)."""

import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .problems import RefusedByRules

# NUL (PostgreSQL text refuses it) and lone UTF-16 surrogates (not Unicode text; "\ud800" is
# valid JSON but cannot be encoded to UTF-8 for the database or an email).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _refuse_unstorable(value, path: str = "body") -> None:
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            raise RefusedByRules(
                {path: ["This holds a NUL character or a lone surrogate: send text."]}
            )
    elif isinstance(value, dict):
        for key, inner in value.items():
            _refuse_unstorable(key, path)
            _refuse_unstorable(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _refuse_unstorable(inner, f"{path}[{index}]")


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("The JSON body nests too deeply.") from None
        _refuse_unstorable(data)
        return data
