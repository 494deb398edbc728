"""Reading a JSON body that can be stored as it is: the one parser of every body Piquet accepts."""

import json
import math
import re

MAX_DEPTH = 64  # nesting levels of a body; deeper is refused
_SURROGATE = re.compile("[\ud800-\udfff]")
# A NUL or a lone surrogate in a UTF-8 JSON text (one without NUL bytes: UTF-16 and UTF-32 texts have them) is
# an escape or a surrogate's bytes (which the parser lets through). A backslash before `\u` may make a false
# alarm, never a miss.
_UNSTORABLE_TEXT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text):
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:20]} is out of range for a number")
    return number


def unstorable(value, depth=0):
    """Why a parsed JSON value cannot be stored (NUL, a lone surrogate, too deep), or None."""
    if depth > MAX_DEPTH:
        return f"The body is nested deeper than {MAX_DEPTH} levels."
    if isinstance(value, str):
        if "\x00" in value:
            return "The body contains a NUL character (\\u0000), which cannot be stored."
        if _SURROGATE.search(value):
            return "The body contains a lone UTF-16 surrogate (\\ud800–\\udfff), which is not text."
        return None
    if isinstance(value, dict):
        items = [item for pair in value.items() for item in pair]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        reason = unstorable(item, depth + 1)
        if reason:
            return reason
    return None


def parse_json(body):
    """Parse a request body as JSON that can be stored as it is; raise ValueError with a sentence saying why not."""
    try:
        data = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(f"The body is nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:
        raise ValueError(f"The body is not valid JSON: {exc}.") from None
    if _surely_storable(body):
        return data
    reason = unstorable(data)
    if reason:
        raise ValueError(reason)
    return data


def _surely_storable(body):
    """Whether the body's text alone shows that `unstorable` would find nothing (most bodies, without walking
    through every value): nesting deeper than MAX_DEPTH needs more brackets than MAX_DEPTH."""
    return (
        isinstance(body, bytes)
        and b"\x00" not in body
        and body.count(b"[") + body.count(b"{") <= MAX_DEPTH
        and not _UNSTORABLE_TEXT.search(body)
    )
