"""The API's JSON parser: DRF's, with a nesting limit checked before the body is decoded.

Python's json module recurses once per level, and a request has used about a hundred of the
interpreter's 1,000 frames before its body is parsed: a 2 KB body nested 1,000 deep raised
RecursionError, a 500. No endpoint takes input nested more than a few levels.
"""

import codecs
import json
import re
from itertools import accumulate

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

# A JSON string, escapes included; the unrolled form keeps the regex engine in its tight loop.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth_exceeds(text, max_depth):
    """Whether text nests arrays and objects deeper than max_depth, brackets in strings apart.

    Linear and mostly in C (two regex passes); a malformed text is left to json to refuse."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if brackets.count("[") + brackets.count("{") <= max_depth:
        return False
    return max(accumulate(map(_STEP.__getitem__, brackets))) > max_depth


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.decode(stream.read(), encoding)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        limit = settings.ARBITER_JSON_MAX_DEPTH
        if json_depth_exceeds(text, limit):
            raise ParseError(f"JSON nested deeper than ARBITER_JSON_MAX_DEPTH ({limit} levels).")
        try:
            return json.loads(text, parse_constant=strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
