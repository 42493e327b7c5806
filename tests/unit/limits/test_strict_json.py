"""The one strict JSON parser every client body goes through (the API and webhooks alike)."""

from __future__ import annotations

import json

import pytest

from sunap.application.strict_json import RefusedJson, control_character_in, loads_strict


@pytest.mark.parametrize(
    "text",
    [
        b'{"orderName": "\\uc0dd\\uc218 \\uc678 1\\uac74", "amount": 15000}',
        b'{"a": {"b": [1, "x", ["y"]]}, "c": null}',
        '{"cancelReason": "line one\\nline two\\tand a tab"}',
        b'"plain"',
        b'{"path": "C:\\\\new\\\\table", "quote": "\\"\\u00e9\\""}',
    ],
    ids=["korean", "nested", "free-text-tab-newline", "top-level-string", "escaped-backslashes"],
)
def test_what_a_client_sends_every_day_parses_as_json_does(text: bytes | str) -> None:
    assert loads_strict(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b'{"amount": 1000, "amount": 1}', "'amount' appears twice"),
        (b'{"a": {"b": 1, "b": 1}}', "'b' appears twice"),
        (b'[{"k": 1, "k": 2}]', "'k' appears twice"),
    ],
)
def test_a_key_repeated_in_one_object_is_refused_and_named(text: bytes, said: str) -> None:
    with pytest.raises(RefusedJson, match=said):
        loads_strict(text)


@pytest.mark.parametrize(
    "text",
    [
        b'{"orderName": "a\\u0000b"}',
        b'{"orderName": "a\\u001bb"}',
        b'{"orderName": "a\\rb"}',
        b'{"orderName": "a\\u007fb"}',
        b'{"orderName": "a\\u0085b"}',
        '{"orderName": "a\x85b"}'.encode(),
        b'{"orderName": "a\x7fb"}',
        b'{"orderName": "\\ud800"}',
        b'{"metadata": {"tags": ["ok", "x\\u0000"]}}',
        b'[["deep", ["\\u0000"]]]',
        b'"\\u0000"',
        b'{"k\\u0000": 1}',
        b'{"k\\t": 1}',
        b'{"k\\n": 1}',
    ],
    ids=[
        "nul",
        "escape",
        "carriage-return",
        "del",
        "c1-escaped",
        "c1-raw",
        "del-raw",  # JSON lets DEL stand unescaped
        "lone-surrogate",
        "in-an-array",
        "in-nested-arrays",
        "top-level",
        "nul-in-a-key",
        "tab-in-a-key",
        "newline-in-a-key",
    ],
)
def test_a_control_character_anywhere_is_refused(text: bytes) -> None:
    with pytest.raises(RefusedJson, match="control character"):
        loads_strict(text)


@pytest.mark.parametrize(
    "text",
    [b"{nope", b"\xff\xfe{}", b"NaN", b'{"a": Infinity}', b'{"a": -Infinity}', b"[" * 100_000],
    ids=["broken", "not-utf8", "nan", "infinity", "minus-infinity", "too-deep"],
)
def test_text_that_is_not_json_is_refused_with_a_reason(text: bytes) -> None:
    with pytest.raises(RefusedJson) as refused:
        loads_strict(text)
    assert str(refused.value)


def test_valid_json_nested_past_what_is_parsed_is_refused_as_too_deep() -> None:
    with pytest.raises(RefusedJson, match="too deeply"):
        loads_strict(b"[" * 30_000 + b"]" * 30_000)


def test_a_refusal_never_quotes_a_key_that_would_garble_the_message() -> None:
    with pytest.raises(RefusedJson) as refused:
        loads_strict('{"' + "k" * 500 + '": 1, "' + "k" * 500 + '": 2}')
    assert "kkkk" not in str(refused.value)


def test_tab_and_newline_are_control_characters_outside_free_text() -> None:
    assert control_character_in("a\tb") and control_character_in("a\nb")
    assert not control_character_in("a\tb\nc", free_text=True)
    assert control_character_in("a\x00b", free_text=True)
    assert not control_character_in("주문 #12 (2개)")
