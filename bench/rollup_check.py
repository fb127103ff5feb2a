"""Whether the daily rollups kept by scoring equal an aggregate of the raw scores, in SQL of its
own (PostgreSQL): every TextDaily row and every MetricDaily row but survey ratings, of every
tenant, row for row. A bench prints it after scoring, so a fast path that miscounts shows;
bench.journey_map writes a big tenant's metric rollups with the same aggregate (METRIC_RAW)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# A response as the rollups see it: its day in its tenant's time zone, touchpoint (0: none),
# org unit (0: none) and that unit's materialised path.
_RESPONSES = """
    SELECT r.id AS response_id, r.tenant_id,
           (r.submitted_at AT TIME ZONE t.time_zone)::date AS day,
           COALESCE(r.touchpoint_id, 0) AS touchpoint_id,
           COALESCE(r.org_unit_id, 0) AS org_unit_id, COALESCE(u.path, '') AS path,
           s.nps, s.nps_category, s.csat, s.ces, s.verbatim, s.sentiment_label,
           s.sentiment_score, s.keywords, s.aspects, s.risk_flags, s.topics, s.relations
    FROM surveys_response r
    JOIN analytics_responsescore s ON s.response_id = r.id
    JOIN cem_tenant t ON t.id = r.tenant_id
    LEFT JOIN cem_orgunit u ON u.id = r.org_unit_id
    WHERE r.submitted_at IS NOT NULL
"""

# Each response counts in the whole tenant (0) and in every unit of its unit's path
# ("00000001/00000004/": the ids from the root down to its own unit).
METRIC_RAW = f"""
    WITH scored AS ({_RESPONSES}),
    scoped AS (
        SELECT scored.*, 0::bigint AS scope FROM scored
        UNION ALL
        SELECT scored.*, unit_id::bigint FROM scored,
            unnest(string_to_array(rtrim(scored.path, '/'), '/')) unit_id
        WHERE scored.path <> ''
    )
    SELECT tenant_id, day, touchpoint_id, scope, 'responses', '', count(*), 0.0, 0, 0
    FROM scoped GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, scope, 'nps', '', count(*), sum(nps),
           count(*) FILTER (WHERE nps_category = 'promoter'),
           count(*) FILTER (WHERE nps_category = 'detractor')
    FROM scoped WHERE nps IS NOT NULL GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, scope, 'csat', '', count(*), sum(csat),
           count(*) FILTER (WHERE csat >= 4), count(*) FILTER (WHERE csat <= 2)
    FROM scoped WHERE csat IS NOT NULL GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, scope, 'ces', '', count(*), sum(ces),
           count(*) FILTER (WHERE ces >= 6), count(*) FILTER (WHERE ces <= 2)
    FROM scoped WHERE ces IS NOT NULL GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, scope, 'text', '', count(*), 0.0,
           count(*) FILTER (WHERE sentiment_label = 'positive'),
           count(*) FILTER (WHERE sentiment_label = 'negative')
    FROM scoped WHERE verbatim <> '' GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, scope, 'aspect', left(a ->> 'aspect', 100),
           count(*), 0.0, 0, 0
    FROM scoped, jsonb_array_elements(aspects) a
    WHERE a ->> 'polarity' = 'negative' GROUP BY 1, 2, 3, 4, 6
    UNION ALL
    SELECT scoped.tenant_id, day, touchpoint_id, scope, 'tickets', '', count(*), 0.0, 0, 0
    FROM scoped JOIN alerts_ticket k ON k.response_id = scoped.response_id
    GROUP BY 1, 2, 3, 4
"""

_METRIC_ROLLED = """
    SELECT tenant_id, day, touchpoint_id, org_unit_id, metric, key, n, total, good, bad
    FROM analytics_metricdaily
    WHERE metric <> 'rating' AND (n, total, good, bad) <> (0, 0, 0, 0)
"""

# A text counts under its sentiment and each of its topics (weighed by its score), as
# uncovered or at risk, once per aspect opinion and risk term, once per distinct keyword and
# relation.
_TEXT_RAW = f"""
    WITH texts AS (SELECT * FROM ({_RESPONSES}) scored WHERE verbatim <> '')
    SELECT tenant_id, day, touchpoint_id, org_unit_id, 'sentiment', sentiment_label, '',
           count(*), COALESCE(sum(sentiment_score), 0), count(sentiment_score)
    FROM texts GROUP BY 1, 2, 3, 4, 6
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, org_unit_id, 'topic', left(topic, 100),
           sentiment_label, count(*), COALESCE(sum(sentiment_score), 0), count(sentiment_score)
    FROM texts, LATERAL (SELECT DISTINCT jsonb_array_elements_text(topics) AS topic) t
    GROUP BY 1, 2, 3, 4, 6, 7
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, org_unit_id, 'uncovered', '', '', count(*), 0.0, 0
    FROM texts WHERE jsonb_array_length(topics) = 0 GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, org_unit_id, 'at_risk', '', '', count(*), 0.0, 0
    FROM texts WHERE jsonb_array_length(risk_flags) > 0 GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, org_unit_id, 'aspect', left(a ->> 'aspect', 100),
           a ->> 'polarity', count(*), 0.0, 0
    FROM texts, jsonb_array_elements(aspects) a GROUP BY 1, 2, 3, 4, 6, 7
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, org_unit_id, 'risk', left(f ->> 'flag', 100),
           left(f ->> 'term', 100), count(*), 0.0, 0
    FROM texts, jsonb_array_elements(risk_flags) f GROUP BY 1, 2, 3, 4, 6, 7
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, org_unit_id, 'keyword', left(word, 100), '',
           count(*), 0.0, 0
    FROM texts, LATERAL (SELECT DISTINCT jsonb_array_elements_text(keywords) AS word) w
    GROUP BY 1, 2, 3, 4, 6
    UNION ALL
    SELECT tenant_id, day, touchpoint_id, org_unit_id, 'relation', target, opinion, count(*),
           0.0, 0
    FROM texts, LATERAL (
        SELECT DISTINCT left(p ->> 'target', 100) AS target, left(p ->> 'opinion', 100) AS opinion
        FROM jsonb_array_elements(relations) p
    ) r
    GROUP BY 1, 2, 3, 4, 6, 7
"""


def _text_rolled() -> list[tuple]:
    """Every tenant's text rollups as rows of _TEXT_RAW's shape: the packed rows spelt out."""
    from analytics.models import TextDaily
    from analytics.rollups import tallies_unpacked

    by_tenant: dict[int, list[tuple]] = {}
    for tenant_id, *row in TextDaily.all_tenants.values_list(
        "tenant_id", "day", "touchpoint_id", "org_unit_id", "tallies", "keywords"
    ):
        by_tenant.setdefault(tenant_id, []).append(tuple(row))
    return [
        (tenant_id, *term)
        for tenant_id, rows in by_tenant.items()
        for term in tallies_unpacked(rows)
    ]


def _differing(raw: str, rolled: str | Callable[[], list[tuple]], keys: int) -> tuple[int, int]:
    """(rows compared, rows that differ) between two queries whose first `keys` columns name
    a row and whose last three or four are its sums (a float sum compared to 1e-6)."""
    from django.db import connection

    from organizations.tenancy import system_context

    with system_context(), connection.cursor() as cursor:
        cursor.execute(raw)
        expected = {tuple(row[:keys]): row[keys:] for row in cursor.fetchall()}
        if callable(rolled):
            found = {tuple(row[:keys]): row[keys:] for row in rolled()}
        else:
            cursor.execute(rolled)
            found = {tuple(row[:keys]): row[keys:] for row in cursor.fetchall()}

    def same(mine, theirs) -> bool:
        if mine is None or theirs is None:
            return False
        return all(abs(float(a) - float(b)) <= 1e-6 for a, b in zip(mine, theirs, strict=True))

    rows = expected.keys() | found.keys()
    return len(rows), sum(1 for row in rows if not same(expected.get(row), found.get(row)))


@dataclass(frozen=True)
class RollupCheck:
    metric_rows: int
    metric_differing: int
    text_rows: int
    text_differing: int

    @property
    def equal(self) -> bool:
        return not self.metric_differing and not self.text_differing

    def line(self) -> str:
        return (
            f"rollups_equal_raw={'yes' if self.equal else 'NO'} "
            f"metric_rows={self.metric_rows} metric_differing={self.metric_differing} "
            f"text_rows={self.text_rows} text_differing={self.text_differing}"
        )


def rollups_check(*, metric: bool = True) -> RollupCheck:
    """Compare every tenant's TextDaily and MetricDaily (ratings aside; without `metric`,
    TextDaily alone) with the raw scores."""
    metric_rows, metric_differing = _differing(METRIC_RAW, _METRIC_ROLLED, 6) if metric else (0, 0)
    text_rows, text_differing = _differing(_TEXT_RAW, _text_rolled, 7)
    return RollupCheck(metric_rows, metric_differing, text_rows, text_differing)
