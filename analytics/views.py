"""Analytics pages: the CX dashboard, text analytics, and the tenant's text dictionary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import external_posts, post_files, selectors, services
from analytics.charts import (
    aspect_chart,
    driver_chart,
    metric_alert_chart,
    sentiment_mix_chart,
    sentiment_trend_chart,
    weekly_trend_chart,
)
from analytics.dashboard import dashboard_read, tp_label
from analytics.drivers import Driver, key_drivers_read
from analytics.filters import DASHBOARD_PRESETS, DashboardFilters, dashboard_filters, unit_choices
from analytics.forms import (
    PERIOD_CHOICES,
    AspectTermsForm,
    ExternalPostsUploadForm,
    SampleForm,
    TextFilterForm,
    TextSource,
    TopicKeywordsForm,
    UserWordsForm,
)
from analytics.kept_pages import kept_body
from analytics.models import Aspect, MetricAlert, Sentiment, Topic, UserWord
from analytics.post_files import PostFileError, RowProblem, posts_read
from analytics.text import TenantDictionary, text_analyze
from analytics.text_overview import drill_down, text_overview, text_overview_of_counts
from journeys.models import Channel, KeyMoment, Touchpoint
from organizations.access import require_permission, tenant_view
from surveys.selectors import survey_choices


def _dashboard_choices(filters: DashboardFilters, catalogue: list[Touchpoint]) -> dict:
    """The options of the dashboard's filter selects, from the touchpoint catalogue: the
    journeys, the chosen journey's stages, and the touchpoints of the journey or stage."""
    live = [tp for tp in catalogue if tp.archived_at is None]
    journeys = {tp.stage.journey.pk: tp.stage.journey for tp in live}
    journey_id = filters.journey.pk if filters.journey else None
    stages = {tp.stage.pk: tp.stage for tp in live if tp.stage.journey_id == journey_id}
    # Touchpoints are offered within a journey: a bank has hundreds of them.
    offered = [
        tp
        for tp in live
        if (journey_id and tp.stage.journey_id == journey_id)
        and (filters.stage is None or tp.stage_id == filters.stage.pk)
    ]
    if filters.touchpoint is not None and filters.touchpoint not in offered:
        offered += [tp for tp in catalogue if tp.pk == filters.touchpoint.pk]
    return {
        "journey_choices": [(pk, journey.name) for pk, journey in journeys.items()],
        "stage_choices": [(pk, stage.name) for pk, stage in stages.items()],
        "touchpoint_choices": [(tp.pk, tp_label(tp)) for tp in offered],
        "channel_choices": Channel.choices,
        "key_moment_choices": KeyMoment.choices,
        "survey_choices": survey_choices(),
        "unit_choices": unit_choices(filters.scope, filters.org_unit),
        "presets": DASHBOARD_PRESETS,
    }


def _up_query(filters: DashboardFilters) -> str | None:
    """The query string of the unit one level up, if it is inside the member's scope."""
    unit = filters.org_unit
    if unit is None or unit == filters.scope:
        return None
    return filters.query(unit=unit.parent_id if unit.parent_id else None)


def _dashboard_filters_of(request: HttpRequest) -> DashboardFilters:
    zone = ZoneInfo(request.tenant.time_zone)
    return dashboard_filters(
        request.GET, membership=request.membership, today=timezone.localdate(timezone=zone)
    )


def _filter_form_context(filters: DashboardFilters, catalogue: list[Touchpoint]) -> dict:
    """What the dashboard's filter form (analytics/_dashboard_filters.html) needs."""
    return {
        "filters": filters,
        "window_query": filters.query(days=None, start=None, end=None),
        "up_query": _up_query(filters),
        **_dashboard_choices(filters, catalogue),
    }


# Open metric alerts the dashboard shows with their charts; the rest are on their list.
DASHBOARD_METRIC_ALERTS = 5
METRIC_ALERT_LIST_SIZE = 200


@dataclass(frozen=True)
class DrawnDashboard:
    """The dashboard's parts that are the same for every member who opens the same view (kept
    by analytics/kept_pages.py): the heading and filter form, and the figures below the
    member's own actions; `charts` when they draw one (plotly is loaded only then)."""

    head: str
    body: str
    charts: bool


@tenant_view("dashboard.view")
def dashboard(request: HttpRequest) -> HttpResponse:
    """KPIs, the weekly trend, league tables of the child units and of the touchpoints, and
    the newest verbatims, of the filters in the query string within the member's scope; the
    numbers come from the daily metric rollups, and the drawn page is kept until they change.
    Refused filters answer 400 with the reason and the default view."""
    filters = _dashboard_filters_of(request)

    def draw() -> DrawnDashboard:
        context = _dashboard_context(request, filters)
        return DrawnDashboard(
            head=render_to_string("analytics/_dashboard_head.html", context, request),
            body=render_to_string("analytics/_dashboard_body.html", context, request),
            charts=bool(context["trend_chart"] or context["metric_alerts"]),
        )

    if filters.problems:  # shown once, with the dashboard of the member's own scope
        drawn = draw()
    else:
        drawn = kept_body(
            tenant_id=request.tenant.pk,
            parts=(
                "dashboard",
                filters.query(),
                filters.window,
                filters.scope.pk if filters.scope else None,
                request.LANGUAGE_CODE,
            ),
            draw=draw,
        )
    status = 400 if filters.problems else 200
    context = {"drawn": drawn, "filters": filters}
    return render(request, "analytics/dashboard.html", context, status=status)


def _dashboard_context(request: HttpRequest, filters: DashboardFilters) -> dict:
    zone = ZoneInfo(request.tenant.time_zone)
    catalogue = selectors.touchpoint_catalogue()
    board = dashboard_read(filters=filters, catalogue=catalogue)
    return {
        "board": board,
        "summary": board.summary,
        "trend": board.trend,
        "trend_chart": weekly_trend_chart(board.trend) if board.trend else "",
        "verbatims": selectors.dashboard_verbatims(filters.scores_where(catalogue, zone=zone)),
        "responses_query": urlencode(
            {
                "start": filters.window.start.isoformat(),
                "end": filters.window.end.isoformat(),
                **({"unit": filters.org_unit.pk} if filters.org_unit else {}),
            }
        ),
        # Of the unit shown, which the filters keep inside the member's scope.
        "metric_alerts": [
            (alert, metric_alert_chart(alert, height=220))
            for alert in selectors.metric_alerts_open(
                scope_path=filters.org_unit.path if filters.org_unit else ""
            )[:DASHBOARD_METRIC_ALERTS]
        ],
        "unit_query": filters.query(unit=None),
        **_filter_form_context(filters, catalogue),
    }


def _narrowed_to(filters: DashboardFilters, touchpoint: Touchpoint) -> str:
    """The query string of `filters` narrowed to one touchpoint (its journey too: the filter
    form offers touchpoints within a journey)."""
    return filters.query(touchpoint=touchpoint.pk, journey=touchpoint.stage.journey_id, stage=None)


def _driver_chart_of(drivers: list[Driver]) -> str:
    """The chart of the drivers with a large enough sample; none when no driver has one."""
    return driver_chart(drivers) if any(not driver.suppressed for driver in drivers) else ""


def _text_period(days: int) -> int:
    """The text analytics page's period that covers `days`: its shortest one at least as long,
    or its longest."""
    periods = [period for period, _label in PERIOD_CHOICES]
    return next((period for period in periods if period >= days), periods[-1])


@tenant_view("dashboard.view")
def key_drivers(request: HttpRequest) -> HttpResponse:
    """Which touchpoints and which text aspects move the NPS most, for the dashboard's filters
    within the member's scope (analytics.drivers, docs/key-drivers.md): a chart and a table
    of each, every touchpoint linking to the dashboard narrowed to it and every aspect to its
    negative verbatims. Refused filters answer 400 with the reason and the default view."""
    zone = ZoneInfo(request.tenant.time_zone)
    filters = _dashboard_filters_of(request)
    catalogue = selectors.touchpoint_catalogue()
    rows = selectors.driver_rows(filters.scores_where(catalogue, zone=zone))
    drivers = key_drivers_read(rows=rows, catalogue=catalogue)
    # The text page filters by one journey, touchpoint and unit over its own periods: its
    # verbatims are those of the period that covers this window, ending today.
    verbatim_filters = {
        "days": _text_period((timezone.localdate(timezone=zone) - filters.window.start).days + 1),
        "journey": filters.journey.pk if filters.journey else "",
        "touchpoint": filters.touchpoint.pk if filters.touchpoint else "",
        "org_unit": filters.org_unit.pk if filters.org_unit else "",
        "polarity": Sentiment.NEGATIVE,
    }
    verbatim_filters = {key: value for key, value in verbatim_filters.items() if value != ""}
    dashboard_url = reverse("dashboard", kwargs={"tenant_slug": request.tenant.slug})
    text_url = reverse("text_analytics", kwargs={"tenant_slug": request.tenant.slug})
    context = {
        "drivers": drivers,
        "touchpoint_chart": _driver_chart_of(drivers.touchpoints),
        "aspect_chart": _driver_chart_of(drivers.aspects),
        "touchpoint_rows": [
            (driver, f"{dashboard_url}?{_narrowed_to(filters, driver.touchpoint)}")
            for driver in drivers.touchpoints_shown
        ],
        "aspect_rows": [
            (driver, f"{text_url}?{urlencode({**verbatim_filters, 'aspect': driver.aspect})}")
            for driver in drivers.aspects_shown
        ],
        "dashboard_query": filters.query(),
        **_filter_form_context(filters, catalogue),
    }
    status = 400 if filters.problems else 200
    return render(request, "analytics/key_drivers.html", context, status=status)


@tenant_view("dashboard.view")
def text_analytics(request: HttpRequest) -> HttpResponse:
    """What customers write about, for the member's org subtree: sentiment, topics, aspects,
    risks and new themes over a period, drilling down to the verbatims.

    A period is whole days of the tenant's time zone, today included, as the daily rollups
    count them; the period before it tells which topics and keywords are rising. Themes are
    read as a worker last found them: nothing here cuts or clusters texts."""
    scope_path = request.membership.scope_path
    form = TextFilterForm(request.GET or None, scope_path=scope_path)
    days = form.days_value
    zone = ZoneInfo(request.tenant.time_zone)
    first_day = timezone.localdate(timezone=zone) - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=zone)
    filters = {
        "scope_path": scope_path,
        "journey": form.value("journey"),
        "touchpoint": form.value("touchpoint"),
        "org_unit": form.value("org_unit"),
    }
    dictionary = selectors.text_dictionary()
    if form.source_value == TextSource.EXTERNAL:
        return _external_text_analytics(request, form=form, since=since, dictionary=dictionary)
    overview = text_overview_of_counts(
        selectors.text_counts(first_day=first_day, days=days, **filters),
        aspect_names=dictionary.aspect_finder.names,
        topic_names=dictionary.topic_matcher.names,
        touchpoint_names=selectors.touchpoint_names(),
        org_unit_names=selectors.org_unit_names(scope_path=scope_path),
    )
    drill = form.drill_down
    matched, verbatims = selectors.text_verbatims(
        since=since, drill=drill, limit=selectors.VERBATIM_LIMIT, **filters
    )
    context = {
        "form": form,
        "days": days,
        "overview": overview,
        "mix_chart": sentiment_mix_chart(overview.mix) if overview.mix.total else "",
        "trend_chart": sentiment_trend_chart(overview.weeks) if overview.weeks else "",
        "aspect_chart": aspect_chart(overview.aspects) if overview.aspects else "",
        "themes": selectors.text_themes(since=since, **filters),
        "drill": drill,
        "matched": overview.texts if matched is None else matched,
        "verbatims": verbatims,
        "source": TextSource.SURVEY,
    }
    return render(request, "analytics/text_analytics.html", context)


def _external_text_analytics(
    request: HttpRequest, *, form: TextFilterForm, since: datetime, dictionary: TenantDictionary
) -> HttpResponse:
    """The text page over external posts: counted post by post from the newest of the period
    and the one before it (they have no rollups), with no touchpoint, org unit or themes."""
    days = form.days_value
    rows = external_posts.external_text_rows(
        scope_path=request.membership.scope_path, since=since - timedelta(days=days)
    )
    overview = text_overview(
        rows,
        since=since,
        aspect_names=dictionary.aspect_finder.names,
        topic_names=dictionary.topic_matcher.names,
        touchpoint_names={},
        org_unit_names={},
    )
    drill = form.drill_down
    matched, post_ids = drill_down(rows, drill, since=since, limit=selectors.VERBATIM_LIMIT)
    context = {
        "form": form,
        "days": days,
        "overview": overview,
        "mix_chart": sentiment_mix_chart(overview.mix) if overview.mix.total else "",
        "trend_chart": sentiment_trend_chart(overview.weeks) if overview.weeks else "",
        "aspect_chart": aspect_chart(overview.aspects) if overview.aspects else "",
        "drill": drill,
        "matched": matched,
        "verbatims": external_posts.external_posts_of(post_ids),
        "source": TextSource.EXTERNAL,
        "scoped_out": bool(request.membership.scope_path),
    }
    return render(request, "analytics/text_analytics.html", context)


@tenant_view("external_post.manage")
def external_posts_upload(request: HttpRequest) -> HttpResponse:
    """Upload a CSV or Excel file of external posts; the whole file is taken or, with any bad
    row, none of it, each problem named by its line."""
    form = ExternalPostsUploadForm()
    problems: list[RowProblem] = []
    if request.method == "POST":
        form = ExternalPostsUploadForm(request.POST, request.FILES)
        if form.is_valid():
            problems = _posts_upload(request, form)
            if not problems and not form.errors:
                return redirect("external_posts", tenant_slug=request.tenant.slug)
    context = {
        "form": form,
        "problems": problems,
        "posts": external_posts.external_post_list(),
        "max_posts": external_posts.MAX_POSTS,
    }
    return render(request, "analytics/external_posts.html", context)


def _posts_upload(request: HttpRequest, form: ExternalPostsUploadForm) -> list[RowProblem]:
    """Take the form's file: the problems of its rows (nothing taken then), or none."""
    upload = form.cleaned_data["file"]
    try:
        rows, problems = posts_read(
            name=upload.name,
            content=upload.read(post_files.MAX_FILE_BYTES + 1),
            default_source=form.cleaned_data["source"].strip(),
            zone=ZoneInfo(request.tenant.time_zone),
        )
    except PostFileError as error:
        form.add_error("file", str(error))
        return []
    if problems:
        return problems
    try:
        statuses = external_posts.external_posts_take(
            posts=[row.post for row in rows], by=request.user
        )
    except external_posts.PostsRefused as refused:
        return [
            RowProblem(rows[p.index].line if p.index < len(rows) else 0, p.message)
            for p in refused.problems
        ]
    created = statuses.count(external_posts.PostStatus.CREATED)
    messages.success(
        request,
        _("已导入 %(created)s 条，%(duplicates)s 条重复已跳过；分析完成后显示在文本分析页。")
        % {"created": created, "duplicates": len(statuses) - created},
    )
    return []


def _tenant_row(model: type[Model], request: HttpRequest) -> Model:
    """The current tenant's row of `model` named by the posted id; 404 for anything else."""
    posted = request.POST.get("id", "")
    row = model.objects.filter(pk=posted).first() if posted.isdigit() else None
    if row is None:
        raise Http404
    return row


@tenant_view("survey.manage")
def text_dictionary(request: HttpRequest) -> HttpResponse:
    """The tenant's aspects, jieba user words and topics, a try-it box, and rescoring."""
    aspect_form = AspectTermsForm(prefix="aspect")
    words_form = UserWordsForm(prefix="words")
    topic_form = TopicKeywordsForm(prefix="topic")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "aspect_add":
                aspect_form = AspectTermsForm(request.POST, prefix="aspect")
                if aspect_form.is_valid():
                    services.aspect_terms_add(**aspect_form.cleaned_data, by=request.user)
                    messages.success(request, _("方面词典已更新。"))
            elif action == "aspect_delete":
                services.aspect_delete(aspect=_tenant_row(Aspect, request), by=request.user)
                messages.success(request, _("已删除。"))
            elif action == "words_add":
                words_form = UserWordsForm(request.POST, prefix="words")
                if words_form.is_valid():
                    services.user_words_add(**words_form.cleaned_data, by=request.user)
                    messages.success(request, _("自定义词已更新。"))
            elif action == "word_delete":
                services.user_word_delete(user_word=_tenant_row(UserWord, request), by=request.user)
                messages.success(request, _("已删除。"))
            elif action == "topic_add":
                topic_form = TopicKeywordsForm(request.POST, prefix="topic")
                if topic_form.is_valid():
                    services.topic_keywords_add(**topic_form.cleaned_data, by=request.user)
                    messages.success(request, _("主题分类已更新。"))
            elif action == "topic_delete":
                services.topic_delete(topic=_tenant_row(Topic, request), by=request.user)
                messages.success(request, _("已删除。"))
            elif action == "rescore":
                services.text_rescore_request(by=request.user)
                messages.success(
                    request,
                    _("已开始重新分析近 %(days)s 天的文本，稍后刷新即可看到结果。")
                    % {"days": services.RESCORE_DAYS},
                )
            else:
                raise Http404
        except ValidationError as error:
            forms = {"aspect_add": aspect_form, "words_add": words_form, "topic_add": topic_form}
            forms[action].add_error(None, error)
        if not (aspect_form.errors or words_form.errors or topic_form.errors):
            return redirect("text_dictionary", tenant_slug=request.tenant.slug)
    dictionary = selectors.text_dictionary()
    sample_form = SampleForm(request.GET or None)
    sample = sample_form.cleaned_data["sample"] if sample_form.is_valid() else ""
    context = {
        "aspects": selectors.aspect_dictionary_rows(dictionary),
        "user_words": selectors.user_word_list(),
        "aspect_form": aspect_form,
        "words_form": words_form,
        "topics": selectors.topic_list(),
        "topic_form": topic_form,
        "sample_form": sample_form,
        "sample_analysis": text_analyze(sample, dictionary=dictionary) if sample else None,
        "rescore_days": services.RESCORE_DAYS,
    }
    return render(request, "analytics/text_dictionary.html", context)


@tenant_view("dashboard.view")
def metric_alert_list(request: HttpRequest) -> HttpResponse:
    """The metric alerts of the member's subtree: those still open first, newest first."""
    alerts = selectors.metric_alerts_in_scope(scope_path=request.membership.scope_path)
    if request.GET.get("status") != "all":
        alerts = alerts.exclude(status=MetricAlert.Status.CLOSED)
    return render(
        request,
        "analytics/metric_alert_list.html",
        {
            "alerts": alerts[:METRIC_ALERT_LIST_SIZE],
            "show_all": request.GET.get("status") == "all",
        },
    )


@tenant_view("dashboard.view")
def metric_alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One metric alert of the member's subtree with the chart that explains it; managers
    acknowledge or close it here."""
    alert = get_object_or_404(
        selectors.metric_alerts_in_scope(scope_path=request.membership.scope_path), pk=alert_id
    )
    if request.method == "POST":
        require_permission(request.membership, "metric_alert.manage")
        try:
            services.metric_alert_transition(
                alert_id=alert.pk, action=request.POST.get("action", ""), by=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("已更新指标预警的状态。"))
        return redirect("metric_alert_detail", tenant_slug=request.tenant.slug, alert_id=alert.pk)
    return render(
        request,
        "analytics/metric_alert_detail.html",
        {"alert": alert, "chart": metric_alert_chart(alert)},
    )
