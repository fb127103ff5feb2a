"""Schemathesis hooks for tests/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

import schemathesis

from organizations.json_input import json_input_problem


@schemathesis.hook
def filter_body(context, body) -> bool:
    """Generate only bodies within the documented limits on any JSON value (docs/api.md: no
    NUL or unpaired surrogates, integers within 64 bits, nesting up to 32), which OpenAPI 3.0
    cannot state for free-form objects and unknown members."""
    return json_input_problem(body) is None
