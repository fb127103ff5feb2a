"""The embeddable survey on a partner's site: a page of another origin frames the respondent
page (as static/cem-widget.js does) and the respondent submits inside the frame."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from organizations.tenancy import tenant_context
from surveys.models import Response

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def partner_site(live_server, world):
    """A partner's page on 127.0.0.1 (the platform is served as localhost: another site),
    embedding the survey with the platform's widget script in inline mode."""
    survey_url = f"{live_server.url}/s/{world.link.token}/"
    page = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>合作方</title></head>"
        "<body><h1>合作方页面</h1>"
        f"<script src='{live_server.url}/static/cem-widget.js' data-mode='inline' "
        f"data-survey-url='{survey_url}' data-label='满意度调查'></script></body></html>"
    ).encode()

    class PartnerPage(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), PartnerPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_a_respondent_submits_inside_a_frame_on_another_site(open_page, partner_site, world):
    page = open_page()
    page.goto(partner_site)
    frame = page.frame_locator("iframe[title='满意度调查']")
    questions = frame.locator("fieldset.question")
    questions.nth(0).locator("label.point", has_text="3").click()
    questions.nth(1).locator("label.point", has_text="2").click()
    frame.locator("textarea").first.fill("在合作方页面里提交的意见")
    frame.get_by_role("button", name="提交").click()
    expect(frame.locator("main")).to_contain_text("感谢")
    with tenant_context(world.tenant):
        [response] = Response.objects.all()
    assert response.status == "complete" and response.answers["nps_1"] == 3
    assert response.answers["text_1"] == "在合作方页面里提交的意见"
