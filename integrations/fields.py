"""Input fields of the API that take JSON as typed: text must be a JSON string (DRF's own
fields turn 7 into "7"), and moments must fall in the years the platform can mean."""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework import serializers

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class _TextOnly:
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Text(_TextOnly, serializers.CharField):
    default_error_messages = {"invalid": "Must be text."}


class TextMatching(_TextOnly, serializers.RegexField):
    pass


class Email(_TextOnly, serializers.EmailField):
    pass


class Moment(serializers.DateTimeField):
    """An ISO 8601 date-time from 1970 up to (not including) 2100."""

    default_error_messages = {"out_of_range": "Must lie between 1970 and 2099."}

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not EARLIEST <= moment < LATEST:
            self.fail("out_of_range")
        return moment
