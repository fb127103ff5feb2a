"""One check for untrusted JSON-like values before they are stored in PostgreSQL's json/jsonb.

PostgreSQL refuses text with NUL characters or unpaired UTF-16 surrogates and JSON numbers
that are not finite, and deeply nested values exhaust Python's recursion on the way in or out.
Every entry point that stores values it did not make (the API, the respondent form, imports)
asks `json_input_problem` first and answers a 400 with the problem it names.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

MAX_DEPTH = 32
# Integers beyond 64 bits are refused: no column or client we serve them to holds them.
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1

_FORBIDDEN_TEXT = re.compile("[\x00\ud800-\udfff]")
# A string literal (skipped whole, escapes included) or one bracket: what nesting is made of.
_NESTING_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def text_problem(text: str) -> str | None:
    """What makes `text` unstorable (a NUL or an unpaired surrogate), or None."""
    found = _FORBIDDEN_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text may not contain the NUL character (\\u0000)."
    return f"text may not contain an unpaired surrogate (\\u{ord(found.group()):04x})."


def text_without_unstorable(text: str) -> str:
    """`text` with what text_problem refuses taken out (for values kept as a courtesy, such
    as hidden fields from a URL, where refusing would lose the respondent's answers)."""
    return _FORBIDDEN_TEXT.sub("", text)


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if not MIN_INTEGER <= value <= MAX_INTEGER:
            return "integers must lie between -2^63 and 2^63-1."
        return None
    if isinstance(value, float | Decimal):
        if not (math.isfinite(value) if isinstance(value, float) else value.is_finite()):
            return "numbers must be finite (no NaN, Infinity or overflowing exponents)."
        return None
    return f"{type(value).__name__} is not a JSON value."


def _place(path: tuple) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(
        "."
    )


def json_input_problem(value: object, *, max_depth: int = MAX_DEPTH) -> str | None:
    """Return why `value` (decoded JSON, or the like) must not be stored, or None if it may.

    Refused anywhere in the value, keys included: NUL characters and unpaired surrogates in
    text, non-finite numbers, integers outside 64 bits, objects and arrays nested deeper than
    `max_depth`, and anything that is not a JSON type. The walk is iterative, so no input can
    exhaust the stack. The problem names where it is, e.g. `extra.items[2]: ...`.
    """
    stack: list[tuple[object, tuple, int]] = [(value, (), 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                return f"{_place(path) or 'body'}: nested deeper than {max_depth} levels."
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str | int):
                        return f"{_place(path) or 'body'}: keys must be text."
                    problem = _scalar_problem(key)
                    if problem:
                        return f"{_place(path) or 'body'}: a key's {problem}"
                    stack.append((child, (*path, key), depth + 1))
            else:
                stack.extend((child, (*path, i), depth + 1) for i, child in enumerate(item))
            continue
        problem = _scalar_problem(item)
        if problem:
            return f"{_place(path) or 'body'}: {problem}"
    return None


class JsonInputError(ValueError):
    """A JSON document that may not be stored; the message says why, after "The body"."""


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number the API accepts.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range.")
    return number


def _nesting_depth(body: bytes, limit: int) -> int:
    """The deepest nesting of arrays/objects in `body`, counted without recursion; stops
    counting once past `limit`. A body with no more brackets than the limit is not scanned."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return 0
    depth = deepest = 0
    for token in _NESTING_TOKEN.finditer(body):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif bracket in (b"]", b"}"):
            depth -= 1
    return deepest


def json_input_loads(body: bytes, *, max_depth: int = MAX_DEPTH) -> object:
    """Decode untrusted JSON strictly (RFC 8259: no NaN/Infinity literals, no overflowing
    numbers, nothing deeper than `max_depth`, nothing `json_input_problem` refuses), or raise
    JsonInputError. The API's parser and the survey import both read through it."""
    if _nesting_depth(body, max_depth) > max_depth:
        raise JsonInputError(f"is JSON nested deeper than {max_depth} levels.")
    try:
        value = json.loads(
            body.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise JsonInputError(f"is not valid JSON: {error}") from error
    problem = json_input_problem(value, max_depth=max_depth)
    if problem:
        raise JsonInputError(f"holds a value that cannot be stored: {problem}")
    return value
