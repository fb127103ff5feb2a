"""The CX index formula (docs/cx-index.md): metrics on 0-100, weighted within a touchpoint,
touchpoints weighted by key moment into stages and journeys, small samples left out."""

from __future__ import annotations

import pytest

from analytics.cx_index import (
    CellScore,
    MetricSpec,
    Status,
    cell_score,
    metric_value,
    on_100,
    roll_up,
)
from analytics.metric_rollups import Totals


def totals(**metrics) -> dict[tuple[str, str], Totals]:
    return {(name.replace("__", ":"), ""): value for name, value in metrics.items()}


def test_each_metric_is_put_on_0_to_100_with_100_the_best():
    assert on_100("nps", -100) == 0 and on_100("nps", 100) == 100 and on_100("nps", 0) == 50
    assert on_100("csat", 1) == 0 and on_100("csat", 5) == 100 and on_100("csat", 4) == 75
    assert on_100("ces", 7) == 100 and on_100("ces", 4) == 50
    assert on_100("rating", 80) == 80
    assert on_100("text", 20) == 80  # 20 % negative texts
    assert on_100("tickets", 5) == 95  # 5 tickets per 100 responses
    assert on_100("nps", 250) == 100  # clamped


def test_metric_values_come_from_the_rollup_sums():
    assert metric_value("nps", Totals(10, 70.0, 5, 2), None) == (30.0, 10)
    assert metric_value("csat", Totals(4, 14.0, 2, 1), None) == (3.5, 4)
    assert metric_value("text", Totals(8, 0.0, 3, 2), None) == (25.0, 8)
    assert metric_value("tickets", Totals(3), Totals(60)) == (5.0, 60)
    assert metric_value("tickets", None, Totals(60)) == (0.0, 60)
    assert metric_value("nps", None, Totals(60)) == (None, 0)


def test_a_touchpoint_index_is_the_weighted_mean_of_its_metrics():
    specs = [MetricSpec("nps", "", 20, 3), MetricSpec("csat", "", 4, 1)]
    # NPS 40 -> 70 points, CSAT 3 -> 50 points; targets NPS 20 -> 60, CSAT 4 -> 75
    cell = cell_score(
        specs,
        totals(responses=Totals(50), nps=Totals(50, 0, 25, 5), csat=Totals(50, 150.0)),
        min_sample=30,
    )
    assert cell.index == pytest.approx((70 * 3 + 50 * 1) / 4)
    assert cell.target == pytest.approx((60 * 3 + 75 * 1) / 4)
    assert cell.n == 50
    assert cell.status == Status.MET  # 65 against 63.75
    assert [m.counted for m in cell.metrics] == [True, True]


def test_a_metric_below_the_minimum_sample_drops_out_of_the_index():
    specs = [MetricSpec("nps", "", 20, 1), MetricSpec("csat", "", 4, 1)]
    cell = cell_score(
        specs,
        totals(responses=Totals(40), nps=Totals(40, 0, 20, 4), csat=Totals(10, 20.0)),
        min_sample=30,
    )
    assert cell.index == pytest.approx(70.0)  # NPS 40 alone
    assert cell.target == pytest.approx(60.0)  # and its target alone
    assert [m.counted for m in cell.metrics] == [True, False]


def test_a_cell_below_the_minimum_sample_has_no_score_but_keeps_its_n():
    cell = cell_score(
        [MetricSpec("nps", "", 20, 1)],
        totals(responses=Totals(12), nps=Totals(12, 0, 10, 0)),
        min_sample=30,
    )
    assert cell.index is None and cell.n == 12
    assert cell.status == Status.LOW_SAMPLE
    assert cell_score([MetricSpec("nps", "", 20, 1)], {}, min_sample=30).status == Status.NO_DATA


def test_a_missing_metric_counts_for_nothing():
    specs = [MetricSpec("nps", "", 0, 1), MetricSpec("ces", "", 5, 1)]
    cell = cell_score(specs, totals(responses=Totals(40), nps=Totals(40, 0, 20, 20)), min_sample=30)
    assert cell.index == pytest.approx(50.0)
    assert cell.metrics[1].value is None and not cell.metrics[1].counted


def scored(index: float | None, target: float = 60.0, n: int = 100) -> CellScore:
    return CellScore(index=index, target=target, n=n, metrics=())


def test_key_moments_weigh_twice_an_ordinary_touchpoint():
    stage = roll_up([(scored(40), "low"), (scored(70), "none"), (scored(80), "end")])
    assert stage.index == pytest.approx((40 * 2 + 70 + 80 * 2) / 5)
    assert stage.scored == 3


def test_touchpoints_below_the_minimum_sample_are_left_out_of_the_roll_up():
    journey = roll_up([(scored(80), "none"), (scored(None, n=5), "peak"), (scored(0.0), "none")])
    assert journey.index == pytest.approx(40.0)  # a real 0 counts, the unscored peak does not
    assert journey.scored == 2
    assert journey.n == 205
    assert roll_up([(scored(None, n=5), "none")]).status == Status.LOW_SAMPLE


@pytest.mark.parametrize(
    ("index", "target", "status"),
    [(70, 60, Status.MET), (60, 60, Status.MET), (56, 60, Status.NEAR), (50, 60, Status.BELOW)],
)
def test_status_against_target(index, target, status):
    assert scored(index, target).status == status
