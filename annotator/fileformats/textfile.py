"""Text import files (CSV and the JSON forms): read a line at a time, JSON decoded per line."""

import json

from .records import LineError

# Ten texts at the default 100,000 characters, JSON-escaped, fit well under this; a longer
# line is refused before it is decoded, so one line never costs more than a few times this.
MAX_LINE_BYTES = 32 * 1024 * 1024
BOM = b"\xef\xbb\xbf"


def read_lines(binary):
    """(line number, text) for each line of a binary file, or a LineError for a line that is
    not UTF-8 or longer than MAX_LINE_BYTES. One line is in memory at a time; a UTF-8 BOM is dropped."""
    number = 0
    while raw := binary.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line unread
                raw = binary.readline(1024 * 1024)
            yield LineError(number, "", f"longer than {MAX_LINE_BYTES:,} bytes")
            continue
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield LineError(number, "", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")


def json_objects(lines):
    """(line number, dict) for every non-blank line of JSON, else LineErrors."""
    for item in lines:
        if isinstance(item, LineError):
            yield item
            continue
        number, text = item
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield LineError(number, "", f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        except (ValueError, RecursionError) as exc:  # an integer too long, nesting too deep
            yield LineError(number, "", f"invalid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield LineError(number, "", f"must be a JSON object, got {type(obj).__name__}")
            continue
        yield number, obj
