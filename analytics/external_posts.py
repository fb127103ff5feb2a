"""External voices (舆情): posts from outside the surveys (a complaint platform's export, app
store reviews, social posts) taken in from an upload or the API, checked and deduplicated by
(source, source id), analysed on a worker like verbatims, and read for the text page.

A batch is taken whole or not at all: one bad post (no text, a NUL byte, a field too long, an
id already taken by another text) refuses the batch with every problem named, and nothing is
written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import ExternalPost
from analytics.selectors import text_dictionary
from analytics.signals import external_posts_analyzed
from analytics.text import ANALYZER_VERSION, analyzer_version, text_analyze
from analytics.text_overview import TextRow
from organizations.broker import publish
from organizations.services import Actor, audit_record
from organizations.tenancy import current_tenant, system_context, tenant_context

MAX_TEXT = 5000  # characters of a post's text
MAX_POSTS = 5000  # posts of one batch (an upload; the API takes fewer, see integrations/api.py)
FIELD_LIMITS = {"source": 40, "source_id": 128, "author": 100, "url": 500}
# Posts the text page counts one by one (no rollups for them yet): the newest of the period.
PAGE_ROWS = 5000
# A post's link is shown as a link: http(s) only, nothing else is checked (sources' own URLs
# are theirs to get right).
URL_PATTERN = r"^https?://[^\s]+$"


class PostStatus:
    CREATED = "created"
    DUPLICATE = "duplicate"  # the same source id with the same text: nothing to do


@dataclass(frozen=True)
class PostInput:
    source: str
    source_id: str
    text: str
    author: str = ""
    url: str = ""
    posted_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.source_id


@dataclass(frozen=True)
class PostProblem:
    index: int  # of the post in the batch, from 0
    source_id: str
    message: str
    conflict: bool = False  # its id is taken by another text


@dataclass
class PostsRefused(Exception):
    """The batch was refused, nothing written; every problem found is listed."""

    problems: list[PostProblem] = field(default_factory=list)

    @property
    def conflict(self) -> bool:
        """Whether the only problems are ids taken by other texts (HTTP 409)."""
        return bool(self.problems) and all(problem.conflict for problem in self.problems)

    def __str__(self) -> str:
        return "; ".join(f"#{p.index + 1} {p.source_id}: {p.message}" for p in self.problems)


def _post_problems(index: int, post: PostInput) -> list[PostProblem]:
    def problem(message: str) -> PostProblem:
        return PostProblem(index, post.source_id, message)

    found = []
    values = {
        "source": post.source,
        "source_id": post.source_id,
        "text": post.text,
        "author": post.author,
        "url": post.url,
    }
    if any("\x00" in value for value in values.values()):
        found.append(problem(_("含有空字符（NUL），请检查文件或数据")))
    for name, limit in FIELD_LIMITS.items():
        if len(values[name]) > limit:
            found.append(
                problem(_("%(field)s 超过 %(limit)s 个字符") % {"field": name, "limit": limit})
            )
    if not post.source.strip():
        found.append(problem(_("缺少来源")))
    if not post.source_id.strip():
        found.append(problem(_("缺少来源编号")))
    if not post.text.strip():
        found.append(problem(_("内容为空")))
    elif len(post.text) > MAX_TEXT:
        found.append(problem(_("内容超过 %(limit)s 个字符") % {"limit": MAX_TEXT}))
    if post.url and not re.match(URL_PATTERN, post.url.strip()):
        found.append(problem(_("链接必须是 http:// 或 https:// 开头的网址")))
    return found


def _cleaned(post: PostInput) -> PostInput:
    return PostInput(
        source=post.source.strip(),
        source_id=post.source_id.strip(),
        text=post.text.strip(),
        author=post.author.strip(),
        url=post.url.strip(),
        posted_at=post.posted_at,
    )


def external_posts_take(*, posts: Sequence[PostInput], by: Actor) -> list[str]:
    """Take a batch of posts for the current tenant: each one's status, in order (created, or
    duplicate of a post already taken with the same text). Raises PostsRefused, writing
    nothing, when any post is invalid or reuses a source id with another text. The new posts
    are analysed on a worker once the batch is committed."""
    if not posts:
        raise PostsRefused([PostProblem(0, "", _("没有可导入的帖子"))])
    if len(posts) > MAX_POSTS:
        raise PostsRefused([PostProblem(0, "", _("一次最多导入 %(n)s 条") % {"n": MAX_POSTS})])
    cleaned = [_cleaned(post) for post in posts]
    problems = [p for index, post in enumerate(posts) for p in _post_problems(index, post)]
    if problems:
        raise PostsRefused(problems)
    for attempt in range(2):
        try:
            with transaction.atomic():
                statuses, created = _posts_write(cleaned)
                if created:
                    audit_record(
                        by=by,
                        action="external_posts.import",
                        target=current_tenant(),
                        after={
                            "created": len(created),
                            "duplicates": statuses.count(PostStatus.DUPLICATE),
                            "sources": sorted({post.source for post in created}),
                        },
                    )
            break
        except IntegrityError:
            # Another batch took one of these ids between our read and our write: read again,
            # and they are duplicates or conflicts now.
            if attempt:
                raise
    ids = [post.pk for post in created]
    if ids:
        transaction.on_commit(lambda: _analysis_enqueue(ids))
    return statuses


def _posts_write(posts: list[PostInput]) -> tuple[list[str], list[ExternalPost]]:
    keys = {post.key for post in posts}
    sources = {source for source, _id in keys}
    existing = {
        (row.source, row.source_id): row.text
        for row in ExternalPost.objects.filter(
            source__in=sources, source_id__in=[source_id for _source, source_id in keys]
        ).only("source", "source_id", "text")
    }
    now = timezone.now()
    tenant = current_tenant()
    seen: dict[tuple[str, str], str] = {}
    problems, statuses, fresh = [], [], []
    for index, post in enumerate(posts):
        known = existing.get(post.key, seen.get(post.key))
        if known is not None and known != post.text:
            problems.append(
                PostProblem(
                    index,
                    post.source_id,
                    _("来源「%(source)s」的编号 %(id)s 已有另一段内容")
                    % {"source": post.source, "id": post.source_id},
                    conflict=True,
                )
            )
            continue
        if known is not None:
            statuses.append(PostStatus.DUPLICATE)
            continue
        seen[post.key] = post.text
        statuses.append(PostStatus.CREATED)
        fresh.append(
            ExternalPost(
                tenant=tenant,
                source=post.source,
                source_id=post.source_id,
                text=post.text,
                author=post.author,
                url=post.url,
                posted_at=post.posted_at or now,
                received_at=now,
            )
        )
    if problems:
        raise PostsRefused(problems)
    return statuses, ExternalPost.objects.bulk_create(fresh)


def _analysis_enqueue(post_ids: list[int]) -> None:
    from analytics.tasks import analyze_external_posts

    publish(analyze_external_posts, post_ids)


def external_posts_analyze(*, post_ids: Sequence[int]) -> int:
    """Analyse these posts, of any tenants, as verbatims are (sentiment, aspects, risks,
    relations, keywords, topics); those already analysed by the current analyzer are left as
    they are, so it is safe to run twice. Returns how many were analysed."""
    with system_context():
        posts = list(
            ExternalPost.all_tenants.select_related("tenant")
            .filter(pk__in=post_ids)
            .order_by("tenant_id", "pk")
        )
    by_tenant: dict[int, list[ExternalPost]] = {}
    for post in posts:
        by_tenant.setdefault(post.tenant_id, []).append(post)
    analysed = 0
    for group in by_tenant.values():
        with tenant_context(group[0].tenant), transaction.atomic():
            analysed += _tenant_posts_analyze(group)
    return analysed


SWEEP_BATCH = 500


def posts_waiting_ids(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Posts of every tenant not analysed yet, or by an analyzer older than today's (its
    version prefix): a system job's read, oldest first."""
    with system_context():
        return list(
            ExternalPost.all_tenants.exclude(model_version__startswith=ANALYZER_VERSION + "/")
            .order_by("received_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )


def outdated_posts_enqueue(*, days: int) -> int:
    """Enqueue the analysis of the current tenant's posts of the last `days` analysed with
    another analyzer or dictionary version than its current one (重新分析 asks for it with the
    survey texts); returns how many."""
    version = analyzer_version(text_dictionary())
    ids = list(
        ExternalPost.objects.filter(posted_at__gte=timezone.now() - timedelta(days=days))
        .exclude(model_version=version)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), SWEEP_BATCH):
        _analysis_enqueue(ids[start : start + SWEEP_BATCH])
    return len(ids)


_ANALYSIS_FIELDS = [
    "sentiment_label",
    "sentiment_score",
    "keywords",
    "aspects",
    "risk_flags",
    "topics",
    "relations",
    "model_version",
    "analyzed_at",
]


def _tenant_posts_analyze(posts: list[ExternalPost]) -> int:
    dictionary = text_dictionary()
    version = analyzer_version(dictionary)
    now = timezone.now()
    waiting = [post for post in posts if post.model_version != version]
    for post in waiting:
        analysis = text_analyze(post.text, dictionary=dictionary)
        post.sentiment_label = analysis.sentiment_label if analysis else ""
        post.sentiment_score = analysis.sentiment_score if analysis else None
        post.keywords = analysis.keywords if analysis else []
        post.aspects = analysis.aspects if analysis else []
        post.risk_flags = analysis.risk_flags if analysis else []
        post.topics = analysis.topics if analysis else []
        post.relations = analysis.relations if analysis else []
        post.model_version = version
        post.analyzed_at = now
    ExternalPost.objects.bulk_update(waiting, _ANALYSIS_FIELDS)
    if waiting:
        external_posts_analyzed.send(sender=ExternalPost, posts=waiting)
    return len(waiting)


def external_text_rows(*, scope_path: str, since: datetime) -> list[TextRow]:
    """The analysed posts since `since`, newest first (PAGE_ROWS at most), as the text page
    counts them. A post has no org unit: it belongs to the whole tenant, so a member scoped to
    part of it sees none."""
    if scope_path:
        return []
    rows = (
        ExternalPost.objects.filter(posted_at__gte=since)
        .exclude(model_version="")
        .order_by("-posted_at", "-pk")
        .values_list(
            "pk",
            "posted_at",
            "sentiment_label",
            "sentiment_score",
            "aspects",
            "risk_flags",
            "topics",
            "keywords",
            "relations",
        )[:PAGE_ROWS]
    )
    return [
        TextRow(pk, posted_at, None, None, label, score, aspects, risks, topics, keywords, pairs)
        for pk, posted_at, label, score, aspects, risks, topics, keywords, pairs in rows
    ]


def external_posts_of(post_ids: Sequence[int]) -> list[ExternalPost]:
    """The current tenant's posts of these ids, in the order given."""
    found = ExternalPost.objects.in_bulk(list(post_ids))
    return [found[pk] for pk in post_ids if pk in found]


def external_post_list(*, limit: int = 50) -> list[ExternalPost]:
    """The posts received last, for the upload page."""
    return list(ExternalPost.objects.order_by("-received_at", "-pk")[:limit])
