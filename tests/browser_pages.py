"""What the browser tests share: phone size, logging in, finding a question, screenshots, and
the WCAG 2.1 AA check with axe-core."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "var" / "screenshots"
# Installed by `make setup` from package.json (npm ci); never fetched while the tests run.
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def question(page: Page, text: str):
    """The fieldset of the respondent page's question whose legend contains `text`."""
    return page.locator("fieldset.question").filter(has=page.locator("legend", has_text=text))


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def axe_violations(page: Page, *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, outside the `exclude`
    selectors. The script goes in by DevTools evaluation, which the page's CSP does not govern:
    the policy stays as strict as in production and the page still runs no inline script.
    The context must run JavaScript: a page opened with java_script_enabled=False is checked
    in a test that opens the same page with it on."""
    if not AXE_SCRIPT.exists():
        raise RuntimeError(f"{AXE_SCRIPT} is missing: `make setup` installs axe-core from npm")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    return page.evaluate(
        """async ([exclude, tags]) => {
            const context = exclude.length
                ? {include: [document], exclude: exclude.map((selector) => [selector])}
                : document;
            const results = await axe.run(context, {runOnly: {type: "tag", values: tags}});
            return results.violations.map((violation) => ({
                id: violation.id,
                impact: violation.impact,
                help: violation.help,
                targets: violation.nodes.map((node) => node.target.join(" ")),
            }));
        }""",
        [list(exclude), WCAG_21_AA],
    )


def describe_violations(violations: list[dict]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} -> {', '.join(v['targets'])}" for v in violations
    )


def assert_accessible(page: Page, *, exclude: tuple[str, ...] = ()) -> None:
    """Fail, naming each rule, its impact, the elements and the fix, unless axe-core finds the
    page free of WCAG 2.1 A/AA violations."""
    violations = axe_violations(page, exclude=exclude)
    assert not violations, f"axe-core on {page.url}:\n{describe_violations(violations)}"
