"""Daily rollups of the scored texts (TextDaily) and their mentions (TextMention): what one
scored text counts for, adding it to the rollups as increments, and recounting them all.

Scoring adds the tallies of a batch of scores with one upsert (`INSERT ... ON CONFLICT DO
UPDATE SET count = count + excluded.count`, the same on PostgreSQL and SQLite), so writers
never read-modify-write a row; a rescore adds the difference to what the score counted
before. A rebuild recounts a tenant from its scores; on PostgreSQL it takes the tenant's rollup
lock alone while scorings share it, so none of their increments is lost or counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.utils import timezone

from analytics.models import TextKind
from analytics.text_overview import TEXT_ROW_FIELDS, Tally
from organizations.models import Tenant

KEY_LENGTH = 100  # of TextDaily.key/label and TextMention.key/label
# PostgreSQL advisory lock class of the text rollups ("text"); the tenant id is the object id.
ROLLUP_LOCK = 0x74657874
BATCH = 5000

TallyKey = tuple[str, str, str]  # kind, key, label
ONE = Tally(1)


class ScoredText(Protocol):
    """What the rollups read of a score: a ResponseScore, or a row of its values."""

    sentiment_label: str
    sentiment_score: float | None
    aspects: list[dict]
    risk_flags: list[dict]
    topics: list[str]
    keywords: list[str]
    relations: list[dict]


def _key(value: str) -> str:
    return value[:KEY_LENGTH]


def text_tallies(text: ScoredText) -> dict[TallyKey, Tally]:
    """What one scored text adds to the rollups of its day, touchpoint and org unit: itself
    under its sentiment, under each of its topics (or as uncovered) and as at risk if it is;
    one mention of each aspect polarity and risk term; itself under each keyword and each
    relation (target, opinion)."""
    label = text.sentiment_label
    scored = text.sentiment_score is not None
    weighed = Tally(1, text.sentiment_score if scored else 0.0, int(scored))
    tallies: dict[TallyKey, Tally] = {(TextKind.SENTIMENT, label, ""): weighed}
    for topic in dict.fromkeys(text.topics):
        tallies[(TextKind.TOPIC, _key(topic), label)] = weighed
    if not text.topics:
        tallies[(TextKind.UNCOVERED, "", "")] = ONE
    if text.risk_flags:
        tallies[(TextKind.AT_RISK, "", "")] = ONE
    mentions = [
        *((TextKind.ASPECT, _key(o["aspect"]), o["polarity"]) for o in text.aspects),
        *((TextKind.RISK, _key(r["flag"]), _key(r["term"])) for r in text.risk_flags),
        *((TextKind.KEYWORD, _key(word), "") for word in dict.fromkeys(text.keywords)),
        *(
            (TextKind.RELATION, _key(target), _key(opinion))
            for target, opinion in dict.fromkeys(
                (pair["target"], pair["opinion"]) for pair in getattr(text, "relations", ())
            )
        ),
    ]
    for mention in mentions:
        tallies[mention] = tallies.get(mention, Tally()).plus(ONE)
    return tallies


def tallies_difference(
    after: dict[TallyKey, Tally], before: dict[TallyKey, Tally]
) -> dict[TallyKey, Tally]:
    """What to add to the rollups so that they count `after` instead of `before`."""
    keys = dict.fromkeys([*before, *after])
    changes = {key: after.get(key, Tally()).minus(before.get(key, Tally())) for key in keys}
    return {key: change for key, change in changes.items() if change != Tally()}


# What a drill-down looks for; of a risk, the flag alone.
_MENTIONED = {TextKind.ASPECT, TextKind.TOPIC, TextKind.RISK, TextKind.KEYWORD, TextKind.RELATION}
# Mentions that keep their label: an aspect's polarity, a relation's opinion.
_LABELLED = {TextKind.ASPECT, TextKind.RELATION}


def text_mentions(text: ScoredText) -> list[TallyKey]:
    """The (kind, key, label) of each aspect (with its polarity), topic, risk flag, keyword and
    relation (with its opinion) of a scored text."""
    return tallies_mentions(text_tallies(text))


def tallies_mentions(tallies: Mapping[TallyKey, Tally]) -> list[TallyKey]:
    """text_mentions of a text whose text_tallies are `tallies`."""
    mentioned = (
        (kind, key, label if kind in _LABELLED else "")
        for kind, key, label in tallies
        if kind in _MENTIONED
    )
    return list(dict.fromkeys(mentioned))


def mention_rows(
    mention: type[models.Model], *, tenant_id: int, score_id: int, text: ScoredText
) -> list[models.Model]:
    """Unsaved TextMention rows of a scored text."""
    return [
        mention(tenant_id=tenant_id, score_id=score_id, kind=kind, key=key, label=label)
        for kind, key, label in text_mentions(text)
    ]


_MENTION_COLUMNS = ("tenant_id", "score_id", "kind", "key", "label")


def mentions_insert(
    mention: type[models.Model], *, tenant_id: int, mentions: list[tuple[int, TallyKey]]
) -> None:
    """Insert (score id, (kind, key, label)) mention rows, BATCH per statement, without a model
    object each: a scoring batch writes thousands."""
    quote = connection.ops.quote_name
    table = quote(mention._meta.db_table)
    columns = ", ".join(
        quote(column) for column in ("tenant_id", "score_id", "kind", "key", "label")
    )
    for start in range(0, len(mentions), BATCH):
        chunk = mentions[start : start + BATCH]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        params = [
            value
            for score_id, (kind, key, label) in chunk
            for value in (tenant_id, score_id, str(kind), key, label)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values}",  # noqa: S608 - names only
                params,
            )


@dataclass(frozen=True)
class Cell:
    """Where a text is rolled up: its day in the tenant's time zone, touchpoint and org unit
    (0: none)."""

    day: date
    touchpoint_id: int
    org_unit_id: int


def text_cell(
    submitted_at: datetime | None,
    touchpoint_id: int | None,
    org_unit_id: int | None,
    zone: ZoneInfo,
) -> Cell | None:
    """None for a response not submitted: it belongs to no period."""
    if submitted_at is None:
        return None
    return Cell(timezone.localdate(submitted_at, zone), touchpoint_id or 0, org_unit_id or 0)


def tenant_zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.time_zone)


def tenant_rollups_lock(tenant_id: int, *, exclusive: bool) -> None:
    """Hold the tenant's rollup lock until the transaction ends: shared by scorings, alone by
    a rebuild. SQLite needs none: it has one writer at a time."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [ROLLUP_LOCK, tenant_id])


_COLUMNS = ("tenant_id", "day", "touchpoint_id", "org_unit_id", "kind", "key", "label")
_SUMS = ("count", "score_sum", "scored")


def tallies_add(
    daily: type[models.Model], *, tenant_id: int, tallies: dict[tuple[Cell, TallyKey], Tally]
) -> None:
    """Add `tallies` (negative ones subtract) to the tenant's rollup rows of their cells,
    creating rows as needed: one statement per BATCH rows (a scoring batch merges its texts'
    tallies into one), in a stable order so that concurrent writers lock rows in the same
    order and never deadlock."""
    if not tallies:
        return
    quote = connection.ops.quote_name
    table = quote(daily._meta.db_table)
    columns = ", ".join(quote(column) for column in _COLUMNS + _SUMS)
    sums = ", ".join(
        f"{quote(column)} = {table}.{quote(column)} + excluded.{quote(column)}" for column in _SUMS
    )
    conflict = ", ".join(quote(column) for column in _COLUMNS)
    rows = sorted(
        (cell.day, cell.touchpoint_id, cell.org_unit_id, str(kind), key, label, *tally)
        for (cell, (kind, key, label)), tally in tallies.items()
    )
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        values = ", ".join(["(" + ", ".join(["%s"] * (len(chunk[0]) + 1)) + ")"] * len(chunk))
        params = [
            value
            for day, *rest in chunk
            for value in (tenant_id, connection.ops.adapt_datefield_value(day), *rest)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608 - names only
                f"ON CONFLICT ({conflict}) DO UPDATE SET {sums}",
                params,
            )
    emptied = {cell for (cell, _key), tally in tallies.items() if tally.count < 0}
    if emptied:
        # What no text counts for any more (a topic a rescore took away) goes.
        cells = models.Q()
        for cell in emptied:
            cells |= models.Q(
                day=cell.day, touchpoint_id=cell.touchpoint_id, org_unit_id=cell.org_unit_id
            )
        daily._base_manager.filter(cells, tenant_id=tenant_id, count=0).delete()


@dataclass(frozen=True)
class RollupsRebuilt:
    texts: int
    rollup_rows: int
    mentions: int


def rollups_rebuild(
    *,
    tenant_id: int,
    zone: ZoneInfo,
    scores: models.QuerySet,
    daily: type[models.Model],
    mention: type[models.Model],
) -> RollupsRebuilt:
    """Recount one tenant's rollups and mentions from its scores with a text, replacing what
    was there; bulk writes, one day's rollups in memory at a time. Call it in a transaction,
    holding the tenant's rollup lock alone.

    The models come as arguments so that the data migration can pass its historical ones.
    """
    daily._base_manager.filter(tenant_id=tenant_id).delete()
    mention._base_manager.filter(tenant_id=tenant_id).delete()
    # A migration older than a score field (relations: 0011) reads what its model has; the
    # scores then have none of it to count.
    known = {"pk"} | {field.name for field in scores.model._meta.get_fields()}
    fields = [name for name in TEXT_ROW_FIELDS if name.split("__")[0] in known]
    rows = (
        scores.filter(tenant_id=tenant_id)
        .exclude(verbatim="")
        .order_by("response__submitted_at", "pk")
        .values_list(*fields, named=True)
    )
    texts = rollup_rows = mention_count = 0
    day: date | None = None
    totals: dict[tuple[int, int, TallyKey], Tally] = {}
    mentions: list[models.Model] = []

    def flush_day() -> int:
        daily._base_manager.bulk_create(
            [
                daily(
                    tenant_id=tenant_id,
                    day=day,
                    touchpoint_id=touchpoint_id,
                    org_unit_id=org_unit_id,
                    kind=kind,
                    key=key,
                    label=label,
                    count=tally.count,
                    score_sum=tally.score_sum,
                    scored=tally.scored,
                )
                for (touchpoint_id, org_unit_id, (kind, key, label)), tally in totals.items()
            ],
            batch_size=BATCH,
        )
        written = len(totals)
        totals.clear()
        return written

    for row in rows.iterator(chunk_size=BATCH):
        texts += 1
        mentions += mention_rows(mention, tenant_id=tenant_id, score_id=row.pk, text=row)
        if len(mentions) >= BATCH:
            mention_count += len(mention._base_manager.bulk_create(mentions))
            mentions.clear()
        cell = text_cell(
            row.response__submitted_at,
            row.response__touchpoint_id,
            row.response__org_unit_id,
            zone,
        )
        if cell is None:
            continue
        if cell.day != day:
            rollup_rows += flush_day()
            day = cell.day
        for key, tally in text_tallies(row).items():
            slot = (cell.touchpoint_id, cell.org_unit_id, key)
            totals[slot] = totals.get(slot, Tally()).plus(tally)
    rollup_rows += flush_day()
    mention_count += len(mention._base_manager.bulk_create(mentions))
    return RollupsRebuilt(texts=texts, rollup_rows=rollup_rows, mentions=mention_count)
