"""Serializer fields that take only what the schema declares.

DRF's CharField also takes numbers and booleans and turns them into text, so
{"completion": 0} would be scored as "0" although the schema says string. It
also refuses NUL characters (PostgreSQL cannot store them), which the schema
says with "not": a "pattern" would make drf-spectacular turn a blankable field
into a oneOf that the empty string matches twice, so fails.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"type": "string", "not": {"pattern": "\\u0000"}})
class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Not a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 100, "not": {"pattern": "\\u0000"}},
    }
)
class CompletionLabelsField(serializers.DictField):
    """{"<completion id>": "<label name>"} as JSON has it (keys are strings), read as {id: name}.

    A key that is not an id is kept as text: it names no completion shown, and the judgment's
    own validation says so (after the assignment is found, so a stranger still gets 404).
    """

    child = StrictCharField(max_length=100)
    # A completion id is a bigint (19 digits at most); a longer key names none, and int() would
    # refuse one of over 4,300 digits.
    max_id_digits = 19

    def to_internal_value(self, data):
        labels = super().to_internal_value(data)
        return {
            int(k) if k.isascii() and k.isdigit() and len(k) <= self.max_id_digits else k: v for k, v in labels.items()
        }
