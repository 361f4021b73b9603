"""Canonical bytes against the RFC 8785 reference implementation (Trail of Bits' rfc8785).

``canonical_bytes`` takes a fast path (orjson, keys sorted by code point) unless a key holds a
character above U+FFFF; JCS sorts by UTF-16 code units, so both paths must agree with the
reference on generated values -- above all on keys that mix astral characters with BMP
characters from U+E000 up, where the two orders differ. Outside the narrow hashable domain
every refusal is a ``CanonicalError`` that names the place (JSON-pointer style).
"""

from __future__ import annotations

import decimal
import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from tracefood.errors import CanonicalError
from tracefood.ledger.canonical import MAX_SAFE_INTEGER, canonical_bytes, loads

# Characters from every region that matters, in equal measure: ASCII (controls included), the
# BMP below the surrogates, U+E000..U+FFFF (which sort *after* surrogate pairs in UTF-16 but
# before them by code point) and the astral planes. Drawn as code points and joined, because
# hypothesis merges ``characters()`` alphabets into one range and then rarely reaches U+E000+.
CHARS = st.one_of(
    st.integers(0x00, 0x1F),
    st.integers(0x20, 0x7F),
    st.integers(0x80, 0xD7FF),
    st.integers(0xE000, 0xFFFF),
    st.integers(0x10000, 0x10FFFF),
).map(chr)
TEXT = st.lists(CHARS, max_size=8).map("".join)
SAFE_INTS = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
SCALARS = st.none() | st.booleans() | SAFE_INTS | TEXT
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=6),
    max_leaves=25,
)
OBJECTS = st.dictionaries(TEXT, JSON, max_size=6)


@settings(max_examples=300, deadline=None)
@given(value=JSON)
def test_canonical_bytes__equals_rfc8785_on_generated_values(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(TEXT, min_size=2, max_size=8, unique=True), nested=st.booleans())
def test_canonical_bytes__key_order_is_utf16_order(keys: list[str], nested: bool) -> None:
    value: Any = {k: i for i, k in enumerate(keys)}
    if nested:
        value = {"outer": [value, {"x": value}]}
    out = canonical_bytes(value)
    assert out == rfc8785.dumps(value)
    assert loads(out) == value


@settings(max_examples=200, deadline=None)
@given(value=JSON)
def test_canonical_bytes__is_stable_through_a_round_trip(value: Any) -> None:
    out = canonical_bytes(value)
    assert canonical_bytes(loads(out)) == out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"\U0001f600": 1, "\ufb33": 2}, '{"\U0001f600":1,"\ufb33":2}'),  # UTF-16: D83D < FB33
        ({"\ufb33": 2, "a": 1}, '{"a":1,"\ufb33":2}'),
        ({"b": [1, {"d": True, "c": None}], "a": "\u20ac"}, '{"a":"\u20ac","b":[1,{"c":null,"d":true}]}'),
        ("\u0000\u0008\u0009\u000a\u000c\u000d\u001f\u007f", '"\\u0000\\b\\t\\n\\f\\r\\u001f\u007f"'),
        ('"\\/', '"\\"\\\\/"'),
        ("\u2028\u2029", '"\u2028\u2029"'),
        (MAX_SAFE_INTEGER, "9007199254740991"),
        (-MAX_SAFE_INTEGER, "-9007199254740991"),
        ([], "[]"),
        ({}, "{}"),
    ],
    ids=[
        "astral-key-first",
        "bmp-key-order",
        "nested",
        "controls",
        "escapes",
        "separators",
        "max",
        "min",
        "empty-list",
        "empty-object",
    ],
)
def test_canonical_bytes__known_outputs(value: Any, expected: str) -> None:
    assert canonical_bytes(value) == expected.encode()
    assert rfc8785.dumps(value) == expected.encode()


def test_canonical_bytes__tuples_are_arrays() -> None:
    assert canonical_bytes({"a": (1, 2)}) == b'{"a":[1,2]}'


# -- refusals --------------------------------------------------------------------------------


# Keys without "/" and "~", so the expected path is unambiguous without JSON-pointer escaping.
PLAIN_KEYS = TEXT.filter(lambda k: "/" not in k and "~" not in k)
BAD_VALUES = st.sampled_from([1.5, -0.0, math.inf, 2**53, -(2**53) - 7, 10**30, b"x", decimal.Decimal(1)])


@st.composite
def with_one_bad_value(draw: st.DrawFn) -> tuple[Any, str]:
    """A valid JSON value with one bad value planted somewhere, and the path to it."""
    value: Any = draw(BAD_VALUES)
    steps: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            key = draw(PLAIN_KEYS)
            obj = draw(st.dictionaries(PLAIN_KEYS.filter(lambda k, key=key: k != key), JSON, max_size=3))
            obj[key] = value
            value, step = obj, key
        else:
            items = draw(st.lists(JSON, max_size=3))
            index = draw(st.integers(0, len(items)))
            items.insert(index, value)
            value, step = items, str(index)
        steps.insert(0, step)
    return value, "/" + "/".join(steps)


@settings(max_examples=100, deadline=None)
@given(case=with_one_bad_value())
def test_canonical_bytes__refusal_names_the_path_of_the_bad_value(case: tuple[Any, str]) -> None:
    value, path = case
    with pytest.raises(CanonicalError) as info:
        canonical_bytes(value)
    assert info.value.path == path


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (1.5, "/"),
        ({"a": 1.0}, "/a"),
        ({"a": [1, 2, {"b": math.inf}]}, "/a/2/b"),
        ({"a": [math.nan]}, "/a/0"),
        ({"\U0001f600": {"k": -0.0}}, "/\U0001f600/k"),  # the astral (reference) path too
    ],
)
def test_canonical_bytes__refuses_floats(value: Any, path: str) -> None:
    with pytest.raises(CanonicalError, match="float") as info:
        canonical_bytes(value)
    assert info.value.path == path


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (2**53, "/"),
        (-(2**53), "/"),
        ({"a": [0, 2**64]}, "/a/1"),
        ({"a": {"b": -(2**63)}}, "/a/b"),
        ({"\U0001f600": [10**20]}, "/\U0001f600/0"),
    ],
)
def test_canonical_bytes__refuses_big_integers(value: Any, path: str) -> None:
    with pytest.raises(CanonicalError, match="integer") as info:
        canonical_bytes(value)
    assert info.value.path == path


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({1: "x"}, "/"),
        ({"a": {None: 1}}, "/a"),
        ({"a": [{True: 1}]}, "/a/0"),
        ({"a": {(1, 2): 1}}, "/a"),
        ({"a": {b"k": 1}}, "/a"),
    ],
)
def test_canonical_bytes__refuses_non_string_keys(value: Any, path: str) -> None:
    with pytest.raises(CanonicalError, match="not a string") as info:
        canonical_bytes(value)
    assert info.value.path == path


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"a": b"bytes"}, "/a"),
        ({"a": [decimal.Decimal("1.5")]}, "/a/0"),
        ({"a": {"b": {1, 2}}}, "/a/b"),
        ({"a": object()}, "/a"),
    ],
)
def test_canonical_bytes__refuses_other_types(value: Any, path: str) -> None:
    with pytest.raises(CanonicalError, match="not a JSON value") as info:
        canonical_bytes(value)
    assert info.value.path == path


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("\ud800", "/"),
        ({"a": "\udfff"}, "/a"),
        ({"a": ["ok", "x\ud83dy"]}, "/a/1"),
        ({"a": {"\ud800": 1}}, "/a"),  # the key itself is bad: the object holding it is named
        ({"\U0001f600": "\ud800"}, "/\U0001f600"),  # astral key: the reference path
        ({"\U0001f600": 1, "b": {"\udc00": 1}}, "/b"),
    ],
    ids=["top", "value", "in-array", "in-key", "astral-path-value", "astral-path-key"],
)
def test_canonical_bytes__refuses_lone_surrogates_naming_the_place(value: Any, path: str) -> None:
    with pytest.raises(CanonicalError) as info:
        canonical_bytes(value)
    assert info.value.path == path
