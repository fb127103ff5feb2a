"""Reads of the customers."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q

from customers.models import Customer


def customers_tagged(tag: str, *, prefix: str = "") -> Q:
    """A filter for the rows whose customer (`prefix` the path to it, "" for customers
    themselves) carries `tag`. PostgreSQL reads the tag list's containment; SQLite (the
    embedded default), which has no JSON containment, gets the ids of the tenant's tagged
    customers, read once."""
    if connection.vendor == "postgresql":
        return Q(**{f"{prefix}tags__contains": [tag]})
    tagged = [
        pk
        for pk, tags in Customer.objects.exclude(tags=[]).values_list("pk", "tags")
        if isinstance(tags, list) and tag in tags
    ]
    return Q(**{f"{prefix}pk__in": tagged})
