"""The OpenAPI contract of the API as the server keeps it: the API-key schemes, and the
error answers every operation can give in the one error shape (integrations/errors.py)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Either header carries the key: `Authorization: Api-Key <key>` or `X-Api-Key: <key>`."""

    target_class = "integrations.auth.ApiKeyAuthentication"
    name = ["ApiKey", "ApiKeyHeader"]

    def get_security_requirement(self, auto_schema) -> list[dict]:
        return [{"ApiKey": []}, {"ApiKeyHeader": []}]

    def get_security_definition(self, auto_schema) -> list[dict]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": (
                    "The value is the word `Api-Key`, a space, then the key: "
                    "`Authorization: Api-Key cem_1a2b3c4d_...` (not `Bearer`). "
                    "Owners and admins create keys in the browser under API 密钥."
                ),
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Api-Key",
                "description": "The key alone: `X-Api-Key: cem_1a2b3c4d_...`.",
            },
        ]


class ErrorBodyOutput(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable, for programs: invalid, parse_error, not_authenticated, "
        "authentication_failed, permission_denied, not_found, method_not_allowed, "
        "survey_closed, idempotency_conflict, throttled, unsupported_media_type, too_large, "
        "server_error."
    )
    message = serializers.CharField(help_text="For people; may be translated.")
    fields = serializers.DictField(
        required=False,
        help_text="With code `invalid`: the messages per field, nested as the request is "
        "(`non_field_errors` for the whole request).",
    )

    class Meta:
        ref_name = "ErrorBody"


class ErrorOutput(serializers.Serializer):
    error = ErrorBodyOutput()

    class Meta:
        ref_name = "Error"


ERROR_DESCRIPTIONS = {
    "400": "Invalid request: `invalid` (see `fields`) or `parse_error` (not acceptable JSON).",
    "401": "No key (`not_authenticated`), or a malformed, unknown or revoked key "
    "(`authentication_failed`).",
    "403": "The key may not do this (`permission_denied`).",
    "404": "No such object in the key's tenant (`not_found`).",
    "413": "The body is larger than 4 MiB (`too_large`).",
    "415": "The body is not `application/json` (`unsupported_media_type`).",
    "429": "Over the rate of the client address or of the key (`throttled`); "
    "retry after `Retry-After` seconds.",
}
ERROR_HEADERS = {
    "401": {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Api-Key`."},
    },
    "429": {
        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."},
    },
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers each operation can give."""

    def _error_statuses(self) -> list[str]:
        statuses = ["401", "403", "429"]
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body or self._is_list_view() or self.get_override_parameters():
            statuses.append("400")
        if "{" in self.path:
            statuses.append("404")
        if has_body:
            statuses += ["413", "415"]
        return sorted(statuses)

    def _get_response_bodies(self, direction="response") -> dict:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        error = self.resolve_serializer(ErrorOutput, "response").ref
        for status in self._error_statuses():
            responses.setdefault(
                status,
                {
                    "description": ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": error}},
                    **({"headers": ERROR_HEADERS[status]} if status in ERROR_HEADERS else {}),
                },
            )
        return responses
