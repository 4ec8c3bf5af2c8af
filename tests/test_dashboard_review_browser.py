"""What the PT reviews on the dashboard, in a real browser (Debian's chromium, driven by Playwright) against a
real ``romcam serve`` on a fresh SQLite database, seeded through the public JSON API with sets built by
romcam's own analysis code (the helpers of test_dashboard_browser.py). Each test's docstring says what it
holds the pages to.

Without /usr/bin/chromium or the playwright package the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, require_browser, romcam_serve
from test_dashboard_browser import (
    DECLINE_DEG,
    PRESCRIPTIONS,
    Api,
    _patient_with_elbow_plan,
    _screenshot,
    _session_document,
    _set_document,
    checked_page,
)

A4_PX = {"width": 794, "height": 1123}  # an A4 page at 96 dpi: what chromium lays out for print


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    with romcam_serve(tmp_path_factory.mktemp("review"), ready="/api/patients") as (port, _):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, server: str) -> Iterator[object]:
    """A page that fails the test on a script error, a console error or any request off the server."""
    with checked_page(browser, server) as pg:
        yield pg


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)


def _open(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")


# ---- the report keeps a snoozed change --------------------------------------------------------------------

def test_the_report_keeps_a_snoozed_change_and_its_chart(page, server) -> None:
    """The right shoulder lost 28° over its last 3 sessions; the PT ended its prescription and snoozed the note.
    On paper the change is still there to review, said to be snoozed until a date, with its chart."""
    api = Api(server)
    patient, elbow_rx = _patient_with_elbow_plan(api, "Snoozed Report Example")
    exercise, side, mode, posture, lo, hi, safe, per_week = PRESCRIPTIONS["shoulder_active"]
    _, shoulder_rx = api("POST", f"/api/patients/{patient['id']}/prescriptions", {
        "exercise": exercise, "side": side, "mode": mode, "posture": posture, "target_min": lo, "target_max": hi,
        "safe_max": safe, "reps": 8, "hold_s": 2, "sessions_per_week": per_week, "max_reps": None,
        "max_minutes": 20, "notes": ""})
    n = 8
    for i in range(n):
        start = _today() - timedelta(days=2 * (n - i))
        peak = 150.0 - (DECLINE_DEG if i >= n - 3 else 0.0) + (i % 2)
        sets = [_set_document("shoulder_active", peak, shoulder_rx, 1, start),
                _set_document("elbow_active", 128.0, elbow_rx, 1, start + timedelta(minutes=4))]
        assert api("POST", "/api/sessions", _session_document(patient["id"], start, sets))[0] == 201
    assert api("DELETE", f"/api/prescriptions/{shoulder_rx['id']}")[0] == 204
    _, alerts = api("GET", f"/api/patients/{patient['id']}/alerts")
    assert [(a["kind"], a["exercise"], a["status"]) for a in alerts] == [("decline", "shoulder_flexion", "open")]
    status, snoozed = api("POST", f"/api/alerts/{alerts[0]['id']}/snooze", {"days": 14})
    assert status == 200 and snoozed["status"] == "snoozed"
    until = datetime.fromisoformat(snoozed["snoozed_until"])

    _open(page, f"{server}/patients/{patient['id']}/report")
    items = page.locator("#alerts li")
    assert items.count() == 1, items.all_inner_texts()
    item = items.first
    assert item.get_attribute("data-status") == "snoozed"
    assert "Nothing to review" not in page.locator("#alerts").inner_text()
    assert "Range below this patient's baseline: Shoulder flexion, right" in item.inner_text()
    expected_day = page.evaluate("iso => window.romcam.fmtDate(iso)", until.isoformat())
    assert str(until.year) in expected_day
    assert f"Snoozed until {expected_day}" in item.locator(".alert-meta").inner_text()
    # its motion is no longer in the plan: the chart and the row of latest values stay, marked so
    fig = page.locator("figure.chart[data-exercise=shoulder_flexion][data-side=right]")
    assert fig.get_attribute("data-in-plan") == "false" and int(fig.get_attribute("data-points")) == n
    assert page.locator("#latest tbody tr", has_text="Shoulder flexion, right (not in the current plan)").count() == 1
    page.emulate_media(media="print")
    assert item.is_visible(), "on paper too"
    _screenshot(page, "report-snoozed-change.png")
