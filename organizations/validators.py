"""Checks of what people and partners type that a database, a date library or a browser would
choke on, shared by forms, services, imports and the API."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Dates the platform works with: far enough either side of today for any real schedule, and
# clear of year 1 and 9999, where a shift into the tenant's time zone overflows.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
BRAND_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
URL_MAX_LENGTH = 500


def datetime_in_service_range(value: datetime) -> None:
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(
            _("日期须在 %(low)s 年到 %(high)s 年之间。"),
            code="date_out_of_range",
            params={"low": EARLIEST_YEAR, "high": LATEST_YEAR},
        )


def web_url_problem(url: str) -> str | None:
    """Why `url` may not be linked to or loaded from a respondent page, or None when it may:
    an absolute http(s) address with a host, no spaces or control characters (so never
    javascript:, data: or a CSS escape)."""
    if len(url) > URL_MAX_LENGTH:
        return str(_("地址太长：最多 %(limit)s 个字符。") % {"limit": URL_MAX_LENGTH})
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() or ord(ch) < 32 or ch in "\"'<>\\" for ch in url)
    ):
        return str(_("地址须以 http:// 或 https:// 开头，且不含空格和引号。"))
    return None
