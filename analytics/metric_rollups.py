"""Daily metric rollups (MetricDaily): what one scored response counts for, adding counts to
the rows of its day, touchpoint and every org-unit subtree it belongs to, and recounting a
tenant from its scores.

Counts are added with one upsert (`INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`,
the same on PostgreSQL and SQLite), so writers never read-modify-write a row; a rescore adds
the difference to what the response counted before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.utils import timezone

from analytics.models import Metric, NpsCategory, Sentiment
from surveys.definition import iter_questions, rating_scale

BATCH = 5000


class Totals(NamedTuple):
    """Of one metric in one rollup row: answers counted, their sum, good and bad answers."""

    n: int = 0
    total: float = 0.0
    good: int = 0
    bad: int = 0

    # Spelled out: scoring adds tens of thousands of these per batch.
    def plus(self, other: Totals) -> Totals:
        return Totals(
            self.n + other.n, self.total + other.total, self.good + other.good, self.bad + other.bad
        )

    def minus(self, other: Totals) -> Totals:
        return Totals(
            self.n - other.n, self.total - other.total, self.good - other.good, self.bad - other.bad
        )


MetricKey = tuple[str, str]  # metric, key
# day, touchpoint id (0: none), org-unit subtree id (0: the whole tenant), metric, key
RowKey = tuple[date, int, int, str, str]


# The scales of CSAT and CES answers: (lowest, highest).
CSAT_SCALE, CES_SCALE = (1, 5), (1, 7)


def good_at_least(scale: tuple[float, float]) -> float:
    """An answer on `scale` is good from this value up: its top two points."""
    return scale[1] - 1


def bad_at_most(scale: tuple[float, float]) -> float:
    """An answer on `scale` is bad up to this value: its bottom two points."""
    return scale[0] + 1


def _banded(value: float, *, low: float, high: float) -> Totals:
    """One answer on a low..high scale: good in its top two points, bad in its bottom two."""
    scale = (low, high)
    return Totals(
        1, float(value), int(value >= good_at_least(scale)), int(value <= bad_at_most(scale))
    )


def response_metric_totals(
    score: Any, *, survey_id: int, definition: Mapping[str, Any], answers: Mapping[str, Any]
) -> dict[MetricKey, Totals]:
    """What one scored response adds to each metric of its rows (see analytics.models.Metric);
    `score` is a ResponseScore or a row with its fields."""
    totals: dict[MetricKey, Totals] = {(Metric.RESPONSES, ""): Totals(1)}
    if score.nps is not None:
        totals[(Metric.NPS, "")] = Totals(
            1,
            float(score.nps),
            int(score.nps_category == NpsCategory.PROMOTER),
            int(score.nps_category == NpsCategory.DETRACTOR),
        )
    if score.csat is not None:
        totals[(Metric.CSAT, "")] = _banded(score.csat, low=CSAT_SCALE[0], high=CSAT_SCALE[1])
    if score.ces is not None:
        totals[(Metric.CES, "")] = _banded(score.ces, low=CES_SCALE[0], high=CES_SCALE[1])
    for question in iter_questions(definition):
        value = answers.get(question["key"])
        if question["type"] != "rating" or value is None:
            continue
        scale = rating_scale(question)
        on_100 = 100.0 * (float(value) - scale.low) / (scale.high - scale.low)
        band = _banded(float(value), low=scale.low, high=scale.high)
        totals[(Metric.RATING, f"{survey_id}:{question['key']}"[:100])] = band._replace(
            total=on_100
        )
    if score.verbatim:
        totals[(Metric.TEXT, "")] = Totals(
            1,
            0.0,
            int(score.sentiment_label == Sentiment.POSITIVE),
            int(score.sentiment_label == Sentiment.NEGATIVE),
        )
    for aspect in score.aspects or ():
        if aspect.get("polarity") == Sentiment.NEGATIVE:
            key = (Metric.ASPECT, str(aspect["aspect"])[:100])
            totals[key] = totals.get(key, Totals()).plus(Totals(1))
    return totals


def totals_difference(
    after: dict[MetricKey, Totals], before: dict[MetricKey, Totals]
) -> dict[MetricKey, Totals]:
    """What to add so that the rows count `after` instead of `before`."""
    keys = dict.fromkeys([*before, *after])
    changes = {key: after.get(key, Totals()).minus(before.get(key, Totals())) for key in keys}
    return {key: change for key, change in changes.items() if change != Totals()}


def unit_scopes(org_unit_path: str) -> list[int]:
    """The subtrees a response of the unit with this materialised path counts in: the whole
    tenant (0), then each unit from the root down to its own."""
    return [0, *(int(part) for part in org_unit_path.split("/") if part)]


def response_day(submitted_at: datetime, zone: ZoneInfo) -> date:
    return timezone.localdate(submitted_at, zone)


def rows_for(
    *, day: date, touchpoint_id: int | None, org_unit_path: str, totals: dict[MetricKey, Totals]
) -> dict[RowKey, Totals]:
    """The rollup rows `totals` of one response go to, keyed by row."""
    return {
        (day, touchpoint_id or 0, scope, metric, key): value
        for scope in unit_scopes(org_unit_path)
        for (metric, key), value in totals.items()
    }


def rows_merge(into: dict[RowKey, Totals], rows: Mapping[RowKey, Totals]) -> None:
    for row, value in rows.items():
        into[row] = into.get(row, Totals()).plus(value)


_COLUMNS = ("tenant_id", "day", "touchpoint_id", "org_unit_id", "metric", "key")
_SUMS = ("n", "total", "good", "bad")


def metric_rows_add(daily: type[models.Model], *, tenant_id: int, rows: dict[RowKey, Totals]):
    """Add `rows` (negative values subtract) to the tenant's rollup rows, creating them as
    needed: one statement per BATCH rows, in a stable order so that concurrent writers take
    row locks in the same order and never deadlock."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(daily._meta.db_table)
    columns = ", ".join(quote(column) for column in _COLUMNS + _SUMS)
    sums = ", ".join(
        f"{quote(column)} = {table}.{quote(column)} + excluded.{quote(column)}" for column in _SUMS
    )
    conflict = ", ".join(quote(column) for column in _COLUMNS)
    ordered = sorted(rows.items())
    for start in range(0, len(ordered), BATCH):
        chunk = ordered[start : start + BATCH]
        values = ", ".join(["(" + ", ".join(["%s"] * 10) + ")"] * len(chunk))
        params = [
            value
            for (day, touchpoint_id, org_unit_id, metric, key), totals in chunk
            for value in (
                tenant_id,
                connection.ops.adapt_datefield_value(day),
                touchpoint_id,
                org_unit_id,
                str(metric),
                key,
                *totals,
            )
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608 - names only
                f"ON CONFLICT ({conflict}) DO UPDATE SET {sums}",
                params,
            )


class ResponseCount(NamedTuple):
    """One scored response as a rebuild counts it."""

    day: date
    touchpoint_id: int | None
    org_unit_path: str
    totals: dict[MetricKey, Totals]


def metric_rows_rebuild(
    daily: type[models.Model], *, tenant_id: int, counts: Iterable[ResponseCount]
) -> int:
    """Replace a tenant's rows with the sum of `counts` (in day order: one day's rows are kept
    in memory at a time); returns the rows written. Call it in a transaction."""
    daily._base_manager.filter(tenant_id=tenant_id).delete()
    rows: dict[RowKey, Totals] = {}
    written = 0
    day: date | None = None

    def flush() -> int:
        daily._base_manager.bulk_create(
            [
                daily(
                    tenant_id=tenant_id,
                    day=row_day,
                    touchpoint_id=touchpoint_id,
                    org_unit_id=org_unit_id,
                    metric=metric,
                    key=key,
                    n=value.n,
                    total=value.total,
                    good=value.good,
                    bad=value.bad,
                )
                for (row_day, touchpoint_id, org_unit_id, metric, key), value in rows.items()
            ],
            batch_size=BATCH,
        )
        flushed = len(rows)
        rows.clear()
        return flushed

    for count in counts:
        if count.day != day:
            written += flush()
            day = count.day
        rows_merge(
            rows,
            rows_for(
                day=count.day,
                touchpoint_id=count.touchpoint_id,
                org_unit_path=count.org_unit_path,
                totals=count.totals,
            ),
        )
    return written + flush()
