"""Untrusted values made storable: PostgreSQL text and JSONB refuse some things JSON allows.

A model can send NUL characters ("\\u0000"), lone UTF-16 surrogates ("\\ud800"),
numbers that overflow a double (1e309 parses as inf) and, through pydantic
error locations, any of those inside text. Logging them must not fail the tick:
NUL and surrogates become U+FFFD, non-finite numbers their names as strings.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_MAX_DEPTH = 200  # deeper input is replaced by a note rather than risk the recursion limit


def text(value: str | None, *, nul: bool = True) -> str | None:
    """A string PostgreSQL text accepts (no NUL, no lone surrogate); `nul=False` keeps NUL (JSON on the wire)."""
    bad = _BAD_CHARS if nul else _SURROGATES
    if value is None or not bad.search(value):
        return value
    return bad.sub("\ufffd", value)


def json_value(value: Any, *, nul: bool = True, nonfinite_null: bool = False, _depth: int = 0) -> Any:
    """A copy of `value` that JSONB accepts: clean strings and keys, non-finite floats as strings.

    With `nul=False`, a copy strict JSON encoders accept (for sending back to the API).
    With `nonfinite_null`, non-finite floats become null (a missing metric, not a word).
    """
    if _depth > _MAX_DEPTH:
        return f"[nested deeper than {_MAX_DEPTH} levels: not logged]"
    if isinstance(value, str):
        return text(value, nul=nul)
    if isinstance(value, float) and not math.isfinite(value):
        if nonfinite_null:
            return None
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {
            text(str(k), nul=nul): json_value(v, nul=nul, nonfinite_null=nonfinite_null, _depth=_depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [json_value(v, nul=nul, nonfinite_null=nonfinite_null, _depth=_depth + 1) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON text for a JSONB column; dates and decimals as their text."""
    return json.dumps(value, default=str)
