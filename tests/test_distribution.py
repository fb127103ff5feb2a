"""Distribution by link and QR code: a link per branch, QR codes as PNG, SVG and a zip of
posters, link limits, and an embeddable widget."""

import io
import zipfile

import pytest
from django.urls import reverse

from organizations.tenancy import tenant_context
from surveys.models import Link
from tests.factories import PASSWORD


@pytest.fixture
def manager(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    return client


def url(world, name, **kwargs):
    return reverse(
        name, kwargs={"tenant_slug": world.tenant.slug, "survey_id": world.survey.pk, **kwargs}
    )


def test_every_branch_gets_its_own_link_once(manager, world):
    manager.post(url(world, "survey_distribution"), {"parent": world.region.pk})
    manager.post(url(world, "survey_distribution"), {"parent": ""})
    with tenant_context(world.tenant):
        branch_links = Link.objects.filter(survey=world.survey).exclude(org_unit=None)
        assert sorted(link.org_unit.code for link in branch_links) == ["HZ-XH", "SH-PD"]
    page = manager.get(url(world, "survey_distribution")).content.decode()
    assert "浦东支行" in page and "cem-widget.js" in page


def test_qr_codes_come_as_png_svg_and_a_zip_named_by_branch(manager, world):
    png = manager.get(url(world, "link_qr_png", link_id=world.link.pk))
    svg = manager.get(url(world, "link_qr_svg", link_id=world.link.pk))
    assert png.content.startswith(b"\x89PNG") and b"<svg" in svg.content
    archive = zipfile.ZipFile(io.BytesIO(manager.get(url(world, "survey_qr_zip")).content))
    names = archive.namelist()
    assert (
        f"{world.branch_link.pk}-HZ-XH.png" in names
        and f"{world.branch_link.pk}-HZ-XH.svg" in names
    )


def test_link_limits_are_saved_and_bad_input_is_refused(manager, world):
    manager.post(
        url(world, "link_update", link_id=world.link.pk),
        {
            "response_limit": "100",
            "one_response_per_device": "on",
            "expires_at": "2030-01-01T09:00",
        },
    )
    with tenant_context(world.tenant):
        world.link.refresh_from_db()
    assert world.link.response_limit == 100 and world.link.one_response_per_device
    assert world.link.expires_at.year == 2030
    page = manager.post(
        url(world, "link_update", link_id=world.link.pk), {"response_limit": "many"}, follow=True
    ).content.decode()
    assert "回收上限" in page and "整数" in page
    with tenant_context(world.tenant):
        world.link.refresh_from_db()
    assert world.link.response_limit == 100


def test_the_widget_script_is_served_and_survey_pages_may_be_framed(client, world):
    from django.contrib.staticfiles import finders

    with open(finders.find("cem-widget.js"), encoding="utf-8") as widget:
        assert "data-survey-url" in widget.read()
    page = client.get(reverse("respond", args=[world.link.token]))
    assert "X-Frame-Options" not in page
