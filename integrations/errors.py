"""One JSON shape for every API error: {"error": {"code", "message", "fields"?}}.

DRF's exception handler shapes what the API views raise; the Django error handlers below
(wired in cem/urls.py) shape what happens around them under /api/: unknown paths, a
malformed request Django refuses, and any unexpected exception, which is logged and answered
as a JSON 500 instead of Django's HTML page.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from organizations.tenancy import TenantNotSetError


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        return f"{key}: {_first_message(value)}"
    return str(detail)


def json_exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, TenantNotSetError):
        exc = exceptions.NotAuthenticated("An API key is required.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    body = {"code": getattr(exc, "default_code", "error"), "message": ""}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "invalid"
        body["message"] = "The request is invalid: " + _first_message(detail)
        body["fields"] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    else:
        body["message"] = (
            str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        )
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        if isinstance(codes, str):
            body["code"] = codes
    response.data = {"error": body}
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = "Api-Key"
    return response


API_PATH_PREFIX = "/api/"


def error_json(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message}},
        status=status_code,
        json_dumps_params={"ensure_ascii": False},
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATH_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return error_json(400, "bad_request", "The request is malformed.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return error_json(403, "permission_denied", "You may not do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return error_json(404, "not_found", f"No API endpoint at {request.path}.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return error_json(500, "server_error", "An unexpected error occurred; it was logged.")
    return defaults.server_error(request)
