"""project.jsonbody: a body is refused for what it holds, whether its text gives it away or not."""

import functools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from project.jsonbody import MAX_DEPTH, parse_json, unstorable


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (rb'{"summary": "disk\u0000full"}', "NUL"),
        (rb'{"k\u0000": 1}', "NUL"),
        (rb'["\ud800"]', "surrogate"),
        (rb'["\uDFFF"]', "surrogate"),
        (b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2), "nested deeper"),
        (b'{"a": "\x00"}', "not valid JSON"),  # a raw NUL: the parser refuses it
        (b'["\xed\xa0\x80"]', "surrogate"),  # a lone surrogate's bytes, which the parser lets through
        ('["\ud800"]'.encode("utf-16-le", "surrogatepass"), "surrogate"),  # in UTF-16
    ],
)
def test_what_cannot_be_stored_is_refused(body, reason):
    with pytest.raises(ValueError, match=reason):
        parse_json(body)


@pytest.mark.parametrize(
    "body",
    [
        rb'{"path": "C:\\u0000"}',  # a backslash, then "u0000": text
        rb'{"emoji": "\ud83d\ude00", "amp": "\u0026"}',  # a surrogate pair is one character
        b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
        json.dumps([{"labels": {"n": str(n)}} for n in range(100)]).encode(),  # many brackets, shallow
    ],
)
def test_what_can_be_stored_is_read_as_it_is(body):
    assert parse_json(body) == json.loads(body)


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES, st.booleans(), st.integers(min_value=0, max_value=70))
def test_a_body_is_refused_exactly_when_one_of_its_values_cannot_be_stored(value, ascii_only, depth):
    value = [value] if not depth else functools.reduce(lambda inner, _: [inner], range(depth), value)
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    reason = unstorable(json.loads(body))
    if reason:
        with pytest.raises(ValueError):
            parse_json(body)
    else:
        assert parse_json(body) == json.loads(body)
