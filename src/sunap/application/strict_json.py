"""Strict JSON for everything a client sends: one parse that refuses what a lenient parser lets
through and something further down then trips over.

Refused: text that is not JSON or not UTF-8, `NaN` and `Infinity` (not JSON), a key repeated in
one object (a lenient parser keeps the last one, so two readers of one body can disagree), and
control characters in any key or string: U+0000 (PostgreSQL cannot store it), the other C0 and C1
controls, and lone surrogates (no database can encode them). Tab and newline are let through in
string values, for free text such as an order name; a field that is not free text refuses them
where it is checked (`control_character_in`).
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 and C1 controls, DEL and lone surrogates; the first spares tab (U+0009) and newline (U+000A).
_CONTROL_IN_FREE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# In JSON text, what can put a control character or a surrogate into a string: an escape
# (\b \f \n \r \t, \u0000-\u001f, \u007f-\u009f, \ud800-\udfff) or a raw DEL or C1 character
# (JSON lets both stand unescaped in a string; only C0 must be escaped).
_CONTROL_ESCAPE = re.compile(r"\\(?:[bfnrt]|u00[01]|u007[fF]|u00[89]|u[dD][89a-fA-F])")
_RAW_DEL_OR_C1 = re.compile("[\x7f-\x9f]")
_SHOWN_KEY_LENGTH = 40


class RefusedJson(ValueError):
    """The text is not JSON we accept. The message says why, in words fit for the client."""


def control_character_in(text: str, *, free_text: bool = False) -> bool:
    """True if `text` holds a control character (or a lone surrogate). In free text, tab and
    newline are not counted."""
    pattern = _CONTROL_IN_FREE_TEXT if free_text else _CONTROL
    return pattern.search(text) is not None


def loads_strict(text: bytes | str) -> Any:
    """The parsed value, or RefusedJson. Bytes must be UTF-8, as JSON sent over a network is."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        # A JSON string holds no raw C0 character, so only an escape or a raw DEL or C1
        # character can put one in a value: most bodies have neither and skip the look.
        hook = _checked_object if _may_hold_controls(text) else _unique_keys
        value = json.loads(text, object_pairs_hook=hook, parse_constant=_not_json)
    except RefusedJson:
        raise
    except RecursionError as error:
        raise RefusedJson("The body nests arrays or objects too deeply.") from error
    except ValueError as error:  # UnicodeDecodeError is a ValueError
        raise RefusedJson("The body is not valid JSON.") from error
    if isinstance(value, str):
        _check_value(value, "The body")
    elif isinstance(value, list):
        _check_array(value, "The body")
    return value


def _may_hold_controls(text: str) -> bool:
    # Two plain scans are many times quicker than one alternation over every position.
    return ("\\" in text and _CONTROL_ESCAPE.search(text) is not None) or (
        _RAW_DEL_OR_C1.search(text) is not None
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise RefusedJson(f"The key {_shown(_repeated(pairs))} appears twice in one object.")
    return obj


def _checked_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Called once per object, innermost first: nested objects are already checked.
    obj = _unique_keys(pairs)
    for key, value in pairs:
        if control_character_in(key):
            raise RefusedJson("A key holds a control character.")
        if isinstance(value, str):
            _check_value(value, _shown(key))
        elif isinstance(value, list):
            _check_array(value, _shown(key))
    return obj


def _repeated(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no key is repeated")


def _check_array(values: list[Any], where: str) -> None:
    for value in values:
        if isinstance(value, str):
            _check_value(value, where)
        elif isinstance(value, list):
            _check_array(value, where)


def _check_value(value: str, where: str) -> None:
    if control_character_in(value, free_text=True):
        raise RefusedJson(
            f"{where} holds U+0000, another control character or a lone surrogate (only free "
            "text may hold tab and newline)."
        )


def _shown(key: str) -> str:
    """The key as a message may quote it: short and printable, or not at all."""
    if key.isprintable() and len(key) <= _SHOWN_KEY_LENGTH:
        return f"'{key}'"
    return "a key"


def _not_json(constant: str) -> Any:
    raise RefusedJson(f"{constant} is not a JSON value.")
