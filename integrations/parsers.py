"""The API's only body parser: strict JSON that PostgreSQL can store, or a 400."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from organizations.json_input import JsonInputError, json_input_loads

MAX_BODY_BYTES = 4 * 1024 * 1024


class PayloadTooLargeError(ParseError):
    status_code = 413
    default_detail = "The body is too large."
    default_code = "too_large"


class StrictJsonParser(BaseParser):
    """JSON (RFC 8259) only: no NaN/Infinity literals, no numbers that overflow, no nesting
    deeper than MAX_DEPTH, and nothing `json_input_problem` refuses (NUL, lone surrogates,
    integers beyond 64 bits)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"The body is larger than {MAX_BODY_BYTES} bytes.")
        try:
            return json_input_loads(body)
        except JsonInputError as error:
            raise ParseError(f"The body {error}") from error
