"""The JSON text of JSON columns (outbox payloads, audit request and response data), by orjson.

The standard library's encoder was a twentieth of a confirm's CPU (every outbox row and audit
entry is encoded, and PostgreSQL's rows decoded). orjson writes the same values more compactly
(no spaces, UTF-8 rather than \\u escapes), which every JSON reader reads alike. Where orjson
refuses what the standard library takes (an integer past 64 bits, NaN), the standard library
answers instead: a value stored before still reads, and nothing new is refused.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: ...} becomes {"1": ...}, as json.dumps does


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError: beyond what orjson encodes
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError: NaN, Infinity, an integer past 64 bits
        return json.loads(text)
