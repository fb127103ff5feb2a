"""The API's only body parser: strict JSON that PostgreSQL can store, or a 400."""

from __future__ import annotations

import json
import math
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from cem.json_input import MAX_DEPTH, json_input_problem

MAX_BODY_BYTES = 4 * 1024 * 1024
# A string literal (skipped whole, escapes included) or one bracket: what nesting is made of.
_NESTING_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class PayloadTooLargeError(ParseError):
    status_code = 413
    default_detail = "The body is too large."
    default_code = "too_large"


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


class StrictJsonParser(BaseParser):
    """JSON (RFC 8259) only: no NaN/Infinity literals, no numbers that overflow, no nesting
    deeper than MAX_DEPTH, and nothing `json_input_problem` refuses (NUL, lone surrogates,
    integers beyond 64 bits)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"The body is larger than {MAX_BODY_BYTES} bytes.")
        if _nesting_depth(body, MAX_DEPTH) > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        try:
            value = json.loads(
                body.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float
            )
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ParseError(f"The body is not valid JSON: {error}") from error
        problem = json_input_problem(value)
        if problem:
            raise ParseError(f"The body holds a value the API refuses: {problem}")
        return value
