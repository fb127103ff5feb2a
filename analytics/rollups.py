"""Daily rollups of the scored texts (TextDaily) and their mentions (TextMention): what one
scored text counts for, adding it to the rollups as increments, and recounting them all.

A rollup row holds every term counted in one day, touchpoint and org unit, packed (TALLY,
KEYWORDS): a row per term would be one per keyword mention. Scoring merges the tallies
of a batch of scores into the rows of their cells under a row lock (`SELECT ... FOR UPDATE`),
in a stable order so that concurrent writers never deadlock; a rescore adds the difference to
what the score counted before. A rebuild recounts a tenant from its scores; on PostgreSQL it
takes the tenant's rollup lock alone while scorings share it, so none of their increments is
lost or counted twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection, models
from django.utils import timezone

from analytics.models import TextKind, TextTerm
from analytics.text_overview import TEXT_ROW_FIELDS, Tally
from organizations.models import Tenant

KEY_LENGTH = 100  # of TextTerm.key/label and TextMention.key/label
# PostgreSQL advisory lock class of the text rollups ("text"); the tenant id is the object id.
ROLLUP_LOCK = 0x74657874
BATCH = 5000

TallyKey = tuple[str, str, str]  # kind, key, label
ONE = Tally(1)

# A term of a packed rollup column (TextDaily), little-endian whatever the machine: of
# `tallies`, every kind but keywords (of sentiments and topics with the sum of the texts'
# sentiment scores and how many had one); of `keywords`, a keyword's term id once per text
# (most keywords of a day and cell are in one text: half the bytes of a count beside each).
TALLY = np.dtype([("term", "<u4"), ("count", "<i4"), ("score_sum", "<f8"), ("scored", "<i4")])
KEYWORDS = np.dtype("<u4")
TERM_ID_LIMIT = 2**32  # what a packed term holds


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


def packed_merge(parts: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """The packed terms of `parts` added up term by term, in term order, without the terms no
    text counts for any more (a topic a rescore took away)."""
    records = np.concatenate(parts) if parts else np.zeros(0, dtype)
    terms, where = np.unique(records["term"], return_inverse=True)
    merged = np.zeros(len(terms), dtype)
    merged["term"] = terms
    for column in dtype.names[1:]:
        sums = np.bincount(where, weights=records[column], minlength=len(terms))
        merged[column] = sums if column == "score_sum" else sums.round()
    return merged[merged["count"] != 0]


@dataclass(frozen=True)
class PackedRows:
    """Rollup rows as a page sums them: each row's day, touchpoint id and org unit id, and
    every row's terms in one array per packed column with the index of each term's row."""

    days: list[date]
    touchpoint_ids: np.ndarray
    org_unit_ids: np.ndarray
    tallies: np.ndarray  # TALLY
    tally_rows: np.ndarray
    keywords: np.ndarray  # KEYWORDS
    keyword_rows: np.ndarray


# Each row's place and packed columns, aggregated in one pass: every aggregate of one pass
# takes the rows in the same order (a parallel plan combines each worker's states in one
# order too), so the i-th day, touchpoint, org unit and lengths are those of one row, without
# sorting (ORDER BY in each aggregate doubled the query's time).
_PACKED_AGGREGATES = ", ".join(
    [
        "array_agg(day)",
        "array_agg(touchpoint_id)",
        "array_agg(org_unit_id)",
        "string_agg(tallies, ''::bytea)",
        "array_agg(length(tallies))",
        "string_agg(keywords, ''::bytea)",
        "array_agg(length(keywords))",
    ]
)


def packed_read(rollups: models.QuerySet) -> PackedRows:
    """The TextDaily rows of `rollups`. On PostgreSQL as one row of aggregates (the packed
    columns joined in the database, the places and lengths as arrays): a few large values,
    which the allocator gives back, rather than tens of thousands of small ones, which it
    keeps (60 MB more in a web worker after one text page, at 200,000 texts). Elsewhere
    (SQLite) row by row."""
    sql, params = rollups.values(
        "day", "touchpoint_id", "org_unit_id", "tallies", "keywords"
    ).query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            statement = f"SELECT {_PACKED_AGGREGATES} FROM ({sql}) cells"  # noqa: S608 - ORM SQL
            cursor.execute(statement, params)
            aggregates = cursor.fetchone()
            if aggregates[0] is None:  # no rows: NULL aggregates
                aggregates = ([], [], [], b"", [], b"", [])
            days, touchpoints, units, tallies, tally_lengths, keywords, keyword_lengths = aggregates
        else:
            cursor.execute(sql, params)
            columns = list(zip(*cursor.fetchall(), strict=True)) or [()] * 5
            days, touchpoints, units, tally_columns, keyword_columns = columns
            days = [date.fromisoformat(day) if isinstance(day, str) else day for day in days]
            tallies, tally_lengths = b"".join(tally_columns), [len(c) for c in tally_columns]
            keywords = b"".join(keyword_columns)
            keyword_lengths = [len(column) for column in keyword_columns]

    def index(lengths: list[int], dtype: np.dtype) -> np.ndarray:
        sizes = np.array(lengths, dtype=np.int64) // dtype.itemsize
        return np.repeat(np.arange(len(lengths), dtype=np.int32), sizes)

    return PackedRows(
        days=days,
        touchpoint_ids=np.array(touchpoints, dtype=np.int64),
        org_unit_ids=np.array(units, dtype=np.int64),
        tallies=np.frombuffer(tallies, TALLY),
        tally_rows=index(tally_lengths, TALLY),
        keywords=np.frombuffer(keywords, KEYWORDS),
        keyword_rows=index(keyword_lengths, KEYWORDS),
    )


def cell_packed(
    tallies: bytes | memoryview,
    keywords: bytes | memoryview,
    added: Mapping[TallyKey, Tally],
    ids: Mapping[TallyKey, int],
) -> tuple[bytes, bytes]:
    """A cell's packed columns with `added` added (both empty: the cell counts nothing)."""
    counted = [(key, tally) for key, tally in added.items() if key[0] != TextKind.KEYWORD]
    words = [(ids[key], tally.count) for key, tally in added.items() if key[0] == TextKind.KEYWORD]
    kept = np.frombuffer(keywords, KEYWORDS)
    terms, where = np.unique(
        np.concatenate([kept, np.array([term for term, _count in words], KEYWORDS)]),
        return_inverse=True,
    )
    texts = np.bincount(
        where, np.concatenate([np.ones(len(kept)), [count for _term, count in words]]), len(terms)
    )
    return (
        packed_merge(
            [
                np.frombuffer(tallies, TALLY),
                np.array([(ids[key], *tally) for key, tally in counted], TALLY),
            ],
            TALLY,
        ).tobytes(),
        # np.repeat refuses a negative count: a rescore never takes away what was not added.
        np.repeat(terms, texts.round().astype(np.int64)).astype(KEYWORDS).tobytes(),
    )


def _row_values(count: int, width: int) -> str:
    return ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * count)


def term_ids(term: type[models.Model], *, tenant_id: int, keys: set[TallyKey]) -> dict:
    """The ids of the tenant's terms `keys`, numbering those it never counted before: found
    with one query, and those not found inserted in a stable order (a concurrent writer of
    the same new term waits for the first to commit, then finds it)."""
    quote = connection.ops.quote_name
    table = quote(term._meta.db_table)
    kind, key, label = quote("kind"), quote("key"), quote("label")
    ids: dict[TallyKey, int] = {}

    def find(wanted: list[TallyKey]) -> None:
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, {kind}, {key}, {label} FROM {table} "  # noqa: S608 - names only
                    f"WHERE tenant_id = %s AND ({kind}, {key}, {label}) IN "
                    f"(VALUES {_row_values(len(chunk), 3)})",
                    [tenant_id, *(str(value) for triple in chunk for value in triple)],
                )
                ids.update({(k, key_, label_): pk for pk, k, key_, label_ in cursor.fetchall()})

    find(sorted(keys))
    missing = sorted(key for key in keys if key not in ids)
    for start in range(0, len(missing), BATCH):
        chunk = missing[start : start + BATCH]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (tenant_id, {kind}, {key}, {label}) "  # noqa: S608
                f"VALUES {_row_values(len(chunk), 4)} ON CONFLICT DO NOTHING",
                [value for triple in chunk for value in (tenant_id, *map(str, triple))],
            )
    find(missing)
    if ids and max(ids.values()) >= TERM_ID_LIMIT:
        raise OverflowError("text term ids no longer fit the packed rollups (rollups.TALLY)")
    return ids


def tallies_add(
    daily: type[models.Model],
    term: type[models.Model],
    *,
    tenant_id: int,
    tallies: dict[tuple[Cell, TallyKey], Tally],
) -> None:
    """Add `tallies` (negative ones subtract) to the tenant's rollup rows of their cells,
    creating rows as needed and deleting those left counting nothing: per BATCH cells, one
    insert of the missing rows, one locking read and one write per row, in cell order."""
    if not tallies:
        return
    ids = term_ids(term, tenant_id=tenant_id, keys={key for _cell, key in tallies})
    by_cell: dict[Cell, dict[TallyKey, Tally]] = {}
    for (cell, key), tally in tallies.items():
        by_cell.setdefault(cell, {})[key] = tally
    quote = connection.ops.quote_name
    table = quote(daily._meta.db_table)
    place = "day, touchpoint_id, org_unit_id"
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cells = sorted(by_cell, key=lambda cell: (cell.day, cell.touchpoint_id, cell.org_unit_id))
    for start in range(0, len(cells), BATCH):
        chunk = cells[start : start + BATCH]
        places = [
            value
            for cell in chunk
            for value in (
                connection.ops.adapt_datefield_value(cell.day),
                cell.touchpoint_id,
                cell.org_unit_id,
            )
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (tenant_id, {place}, tallies, keywords) "  # noqa: S608
                f"VALUES {_row_values(len(chunk), 6)} ON CONFLICT DO NOTHING",
                [
                    value
                    for i in range(len(chunk))
                    for value in (tenant_id, *places[3 * i : 3 * i + 3], b"", b"")
                ],
            )
            cursor.execute(
                f"SELECT id, {place}, tallies, keywords FROM {table} "  # noqa: S608 - names only
                f"WHERE tenant_id = %s AND ({place}) IN (VALUES {_row_values(len(chunk), 3)}) "
                f"ORDER BY {place}{lock}",
                [tenant_id, *places],
            )
            rows = cursor.fetchall()
            changed, emptied = [], []
            for pk, day, touchpoint_id, org_unit_id, tallies_now, keywords_now in rows:
                if isinstance(day, str):  # SQLite
                    day = date.fromisoformat(day)
                added = by_cell[Cell(day, touchpoint_id, org_unit_id)]
                packed = cell_packed(tallies_now, keywords_now, added, ids)
                if any(packed):
                    changed.append((*packed, pk))
                else:
                    emptied.append(pk)
            if changed:
                cursor.executemany(
                    f"UPDATE {table} SET tallies = %s, keywords = %s WHERE id = %s",  # noqa: S608
                    changed,
                )
            if emptied:
                daily._base_manager.filter(pk__in=emptied).delete()


def tallies_unpacked(rows) -> list[tuple]:
    """(day, touchpoint id, org unit id, kind, key, label, count, score_sum, scored) of each
    term of the rollup rows `rows` (TextDaily objects, or tuples of their day, touchpoint id,
    org unit id, tallies and keywords) of one tenant: what the rows count, spelt out (tests,
    the bench's check)."""
    rows = [
        row
        if isinstance(row, tuple)
        else (row.day, row.touchpoint_id, row.org_unit_id, row.tallies, row.keywords)
        for row in rows
    ]
    unpacked = [
        (
            row[:3],
            [
                *(
                    (int(term), int(count), float(score_sum), int(scored))
                    for term, count, score_sum, scored in np.frombuffer(row[3], TALLY).tolist()
                ),
                *(
                    (int(term), int(count), 0.0, 0)
                    for term, count in Counter(np.frombuffer(row[4], KEYWORDS).tolist()).items()
                ),
            ],
        )
        for row in rows
    ]
    terms = {term for _place, records in unpacked for term, *_ in records}
    names = {
        pk: (kind, key, label)
        for pk, kind, key, label in TextTerm._base_manager.filter(pk__in=terms).values_list(
            "pk", "kind", "key", "label"
        )
    }
    return [(*place, *names[term], *sums) for place, records in unpacked for term, *sums in records]


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
    term: type[models.Model],
    mention: type[models.Model],
) -> RollupsRebuilt:
    """Recount one tenant's rollups and mentions from its scores with a text, replacing what
    was there; bulk writes, one day's rollups in memory at a time. Call it in a transaction,
    holding the tenant's rollup lock alone. Terms are kept: the recount numbers only new ones.

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
    totals: dict[tuple[int, int], dict[TallyKey, Tally]] = {}
    mentions: list[models.Model] = []

    def flush_day() -> int:
        ids = term_ids(
            term, tenant_id=tenant_id, keys={key for cell in totals.values() for key in cell}
        )
        daily._base_manager.bulk_create(
            [
                daily(
                    tenant_id=tenant_id,
                    day=day,
                    touchpoint_id=touchpoint_id,
                    org_unit_id=org_unit_id,
                    tallies=tallies,
                    keywords=keywords,
                )
                for (touchpoint_id, org_unit_id), cell in totals.items()
                for tallies, keywords in [cell_packed(b"", b"", cell, ids)]
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
        counted = totals.setdefault((cell.touchpoint_id, cell.org_unit_id), {})
        for key, tally in text_tallies(row).items():
            counted[key] = counted.get(key, Tally()).plus(tally)
    rollup_rows += flush_day()
    mention_count += len(mention._base_manager.bulk_create(mentions))
    return RollupsRebuilt(texts=texts, rollup_rows=rollup_rows, mentions=mention_count)
