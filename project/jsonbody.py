"""Reading a JSON body that can be stored as it is: the one parser of every body Piquet accepts."""

import json
import math
import re

MAX_DEPTH = 64  # nesting levels of a body; deeper is refused
_SURROGATE = re.compile("[\ud800-\udfff]")


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
    reason = unstorable(data)
    if reason:
        raise ValueError(reason)
    return data
