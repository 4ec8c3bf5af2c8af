"""What the PT reviews on the dashboard, in a real browser (Debian's chromium, driven by Playwright) against a
real ``romcam serve`` on a fresh SQLite database, seeded through the public JSON API with sets built by
romcam's own analysis code (the helpers of test_dashboard_browser.py). Each test's docstring says what it
holds the pages to.

Without /usr/bin/chromium or the playwright package the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

import csv
import io
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from helpers import chromium, require_browser, romcam_serve
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

from romcam.analysis import summarize
from romcam.catalog import get_motion
from romcam.measure import Sample
from romcam.server.schemas import PrescriptionIn

A4_PX = {"width": 794, "height": 1123}  # an A4 page at 96 dpi: what chromium lays out for print


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    with romcam_serve(tmp_path_factory.mktemp("review"), ready="/api/patients") as (port, _):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    with chromium() as b:
        yield b


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


# ---- the report's latest values fit the paper ---------------------------------------------------------------

_FITS = """() => { const t = document.getElementById('latest'); const box = t.parentElement;
  return { table: t.scrollWidth, box: box.clientWidth, cell: t.querySelector('tbody td:nth-child(3)').innerText }; }"""


def test_the_latest_values_fit_the_page_with_a_furthest_point_not_seen(page, server) -> None:
    """The elbow's last session was filmed with a hand over it at the top of each movement: its latest value
    is a bound with its note. Every column of the table still fits the report's column, on screen and on A4."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Paper Width Example")
    n = 6
    for i in range(n):
        start = _today() - timedelta(days=2 * (n - i))
        one = _set_document("elbow_active", 128.0, rx, 1, start, hidden_beyond=90.0 if i == n - 1 else None)
        assert api("POST", "/api/sessions", _session_document(patient["id"], start, [one]))[0] == 201
    _open(page, f"{server}/patients/{patient['id']}/report")
    fits = page.evaluate(_FITS)
    assert fits["cell"] and fits["cell"].endswith("or more: furthest point not seen"), fits
    assert fits["table"] <= fits["box"], f"on screen the table is cut: {fits}"
    page.set_viewport_size(A4_PX)
    page.emulate_media(media="print")
    fits = page.evaluate(_FITS)
    assert fits["table"] <= fits["box"], f"on paper the last columns are cut off: {fits}"
    _screenshot(page, "report-latest-on-paper.png")


# ---- the plan as prescribed -------------------------------------------------------------------------------------

def test_the_form_takes_what_the_api_takes() -> None:
    """The editor's bounds are the API's: a value one accepts the other does not refuse (patient.html)."""
    from pathlib import Path

    html = (Path(__file__).parent.parent / "web/templates/patient.html").read_text()
    props = PrescriptionIn.model_json_schema()["properties"]
    for name in ("target_min", "target_max", "safe_max", "safe_min", "reps", "hold_s", "sessions_per_week",
                 "max_reps", "max_minutes"):
        spec = props[name]
        spec = next((s for s in spec.get("anyOf", []) if s.get("type") != "null"), spec)
        start = html.index(f'name="{name}"')
        tag = html[html.rindex("<", 0, start):html.index(">", start)]
        assert f'min="{spec["minimum"]:g}"' in tag and f'max="{spec["maximum"]:g}"' in tag, (name, spec, tag)
        assert ('step="1"' in tag) == (spec["type"] == "integer"), (name, tag)


def test_a_half_degree_target_is_shown_as_stored_and_an_edit_keeps_it(page, server) -> None:
    """The API takes a target of 92.5° and a hold of 1.5 s: the plan says so (not 93°), editing only the note
    saves a new version with them, and a value out of bounds is refused in the form's error area, by name."""
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Half Degree Example {uuid.uuid4().hex[:4]}"})
    status, rx = api("POST", f"/api/patients/{patient['id']}/prescriptions", {
        "exercise": "shoulder_flexion", "side": "right", "mode": "active", "posture": "standing",
        "target_min": 92.5, "target_max": 140, "safe_max": 150.5, "reps": 10, "hold_s": 1.5,
        "sessions_per_week": 3})
    assert status == 201
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    row = page.locator(f"tr[data-prescription-id='{rx['id']}']")
    text = row.inner_text()
    assert "92.5° to 140°" in text and "max 150.5°" in text and "hold 1.5 s" in text, text

    row.locator("button", has_text="Edit").click()
    form = page.locator("#prescription-form")
    assert form.locator("input[name=target_min]").input_value() == "92.5"
    form.locator("textarea[name=notes]").fill("Changed the note only")
    form.locator("#prescription-save").click()
    page.wait_for_selector("#prescription-dialog", state="hidden")
    page.wait_for_selector(f"tr[data-prescription-id='{rx['id']}'] >> text=v2")
    _, now = api("GET", f"/api/patients/{patient['id']}/prescriptions")
    assert [(p["version"], p["target_min"], p["safe_max"], p["hold_s"], p["notes"]) for p in now] == [
        (2, 92.5, 150.5, 1.5, "Changed the note only")]
    assert "92.5° to 140°" in row.inner_text()

    # out of the API's bounds: said in the form, naming the field; nothing saved
    row.locator("button", has_text="Edit").click()
    form.locator("input[name=reps]").fill("501")
    form.locator("#prescription-save").click()
    error = form.locator(".form-error")
    assert error.is_visible(), "the refusal must be in the form, not a tooltip"
    assert error.inner_text().startswith("Repetitions: "), error.inner_text()
    assert form.locator("input[name=reps]").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.getElementById('prescription-dialog').open")
    # the API's largest dose is the form's too
    form.locator("input[name=reps]").fill("500")
    form.locator("input[name=hold_s]").fill("600")
    form.locator("#prescription-save").click()
    page.wait_for_selector("#prescription-dialog", state="hidden")
    page.wait_for_selector(f"tr[data-prescription-id='{rx['id']}'] >> text=v3")
    assert "500 reps, hold 600 s" in row.inner_text()


# ---- a decline titled by the motion's direction ---------------------------------------------------------------

def _knee_extension_set(lowest: float, rx: dict, started_at: datetime) -> dict:
    """A set of 4 reps of seated knee extension from 80° down to ``lowest`` (the exercise works the minimum),
    through romcam's own analysis."""
    motion = get_motion("knee_extension")
    t = np.arange(0, 26.0, 0.1)
    phase = np.clip(t - 1.0, 0, 24.0) / 6.0
    angle = 80.0 + (lowest - 80.0) * (1 - np.cos(2 * np.pi * phase)) / 2 + 0.4 * np.sin(7.3 * t)
    samples = [Sample(index=i, t=float(ti), angle=float(a), confidence=0.9, view_ok=True, view_error=0.0, detail=None)
               for i, (ti, a) in enumerate(zip(t, angle, strict=True))]
    doc = summarize(motion, "right", samples, fps=10.0, video="synthetic (browser test)", frames=len(t),
                    target=float(rx["target_max"]), model="pose_landmarker_full.task").to_document()
    doc.update(frames_with_subject=len(t), mode="active", posture="seated", prescription_id=rx["id"],
               prescription_version=1, started_at=started_at.isoformat())
    return doc


def test_a_knee_that_straightens_less_is_not_titled_below_its_baseline(page, server) -> None:
    """Knee extension works the low end: straightening less is a higher angle. The note's title must not say
    "below" while its message says "above" — on the patient page and in the report."""
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Knee Extension Example {uuid.uuid4().hex[:4]}"})
    _, rx = api("POST", f"/api/patients/{patient['id']}/prescriptions", {
        "exercise": "knee_extension", "side": "right", "mode": "active", "posture": "seated", "target_min": 0,
        "target_max": 15, "safe_max": 100, "reps": 8, "hold_s": 2, "sessions_per_week": 3})
    lowest = [8.0, 9.0, 7.0, 8.0, 9.0] + [22.0, 21.0, 23.0]  # 13° less straight: beyond the ±4° noise
    for i, value in enumerate(lowest):
        start = _today() - timedelta(days=2 * (len(lowest) - i))
        doc = _session_document(patient["id"], start, [_knee_extension_set(value, rx, start)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    _, alerts = api("GET", f"/api/patients/{patient['id']}/alerts")
    decline = [a for a in alerts if a["kind"] == "decline"]
    assert len(decline) == 1 and "above the 4 weeks before" in decline[0]["message"], alerts

    for url in (f"{server}/patients/{patient['id']}", f"{server}/patients/{patient['id']}/report"):
        _open(page, url)
        title = page.locator("#alerts li.alert[data-kind=decline] .alert-title").inner_text()
        assert "below" not in title, f"{url}: {title}"
        assert "Less far than this patient's baseline (a higher angle: this exercise works the low end)" in title
        assert "Knee extension (seated), right" in title, title
        assert title.count("seated") == 1, f"the posture said twice: {title}"
        message = page.locator("#alerts li.alert[data-kind=decline]").inner_text()
        assert "knee extension (seated) (active)" in message and "active, seated" not in message, message


def test_a_knee_extension_chart_is_scaled_to_its_straightening_not_to_its_safe_maximum(page, server) -> None:
    """Knee extension works the low end: best angles of 7-23°, a safe maximum of 100° (the bent end). The scale took
    in the 100° line, and the points filled a strip a few pixels tall where a 13° decline barely showed. The scale
    follows the worked end (the points, the target band, a safe minimum); the safe maximum off it is named in the
    legend, on the patient page and in the report."""
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Knee Scale Example {uuid.uuid4().hex[:4]}"})
    _, rx = api("POST", f"/api/patients/{patient['id']}/prescriptions", {
        "exercise": "knee_extension", "side": "right", "mode": "active", "posture": "seated", "target_min": 0,
        "target_max": 15, "safe_max": 100, "safe_min": -5, "reps": 8, "hold_s": 2, "sessions_per_week": 3})
    lowest = [8.0, 9.0, 7.0, 8.0, 9.0, 22.0, 21.0, 23.0]
    for i, value in enumerate(lowest):
        start = _today() - timedelta(days=2 * (len(lowest) - i))
        doc = _session_document(patient["id"], start, [_knee_extension_set(value, rx, start)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    knee = "figure.chart[data-exercise=knee_extension] canvas"
    for url in (f"{server}/patients/{patient['id']}", f"{server}/patients/{patient['id']}/report"):
        _open(page, url)
        y = page.evaluate("sel => { const s = Chart.getChart(document.querySelector(sel)).scales.y; "
                          "return [s.min, s.max, s.bottom - s.top]; }", knee)
        assert y[0] <= -5 and y[1] <= 40, f"{url}: the scale {y[0]}..{y[1]}° is not the straightening's"
        # the 16° decline spans at least a fifth of the plot's height (an eighth on the scale of -20..110° it had)
        assert (23 - 7) / (y[1] - y[0]) * y[2] >= y[2] / 5, (url, y)
        legend = page.evaluate("sel => Chart.getChart(document.querySelector(sel)).legend.legendItems"
                               ".map(i => i.text)", knee)
        assert "safe max 100°: above this chart's scale" in legend, (url, legend)
        assert page.evaluate(_SAFE_LABELS, knee) == ["safe max 100°", "safe min −5°"], url


# ---- a long name on a phone ---------------------------------------------------------------------------------------

def test_a_long_name_does_not_push_the_pages_sideways_on_a_phone(browser, server) -> None:
    """A 60-letter name with no space (a pasted identifier, a long compound name) wraps on a 390 px phone:
    the patient list, the patient page and the report never scroll sideways."""
    api = Api(server)
    name = "Maximiliana" + "x" * 45 + "Long"
    assert len(name) == 60
    _, patient = api("POST", "/api/patients", {"name": name})
    assert api("POST", f"/api/patients/{patient['id']}/prescriptions", {
        "exercise": "elbow_flexion", "side": "left", "mode": "active", "posture": "seated", "target_min": 110,
        "target_max": 140, "safe_max": 150, "reps": 8, "hold_s": 2, "sessions_per_week": 3})[0] == 201
    with checked_page(browser, server, viewport={"width": 390, "height": 844}) as page:
        for url, ready, heading in (
                ("/", "#patients tbody tr", f"tr[data-patient-id='{patient['id']}'] a.patient-link"),
                (f"/patients/{patient['id']}", "#charts[data-ready=true]", "#patient-name"),
                (f"/patients/{patient['id']}/report", "#charts[data-ready=true]", "#report-title")):
            page.goto(server + url)
            page.wait_for_selector(ready)
            page.wait_for_selector("body[data-loaded=true]")
            assert name in page.locator(heading).inner_text()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{url}: the page is {width} px wide on a 390 px phone"
            box = page.locator(heading).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{url}: {box}"
        _screenshot(page, "long-name-390px-report.png")


# ---- the hour repeated when the clocks go back ------------------------------------------------------------

def test_two_sessions_in_the_hour_the_clocks_went_back_read_as_two_times(browser, server) -> None:
    """Paris put its clocks back from 03:00 CEST to 02:00 CET on 26 Oct 2025: a session at 02:30 CEST and one at
    02:30 CET an hour later both read "02:30" on the patient's session list and on the session page, though the
    CSV tells them apart. A time the clock showed twice says its offset from UTC, as the CSV writes it, and which
    of the two it is; any other time stays as it was (an offset on every row is noise a PT learns to skip), and a
    reader in a zone whose clocks did not change that night sees no offset."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Clocks Back Example")
    starts = {"first": datetime(2025, 10, 26, 0, 30, tzinfo=UTC),    # 02:30 CEST (UTC+2)
              "second": datetime(2025, 10, 26, 1, 30, tzinfo=UTC),   # 02:30 CET (UTC+1)
              "later": datetime(2025, 10, 26, 2, 30, tzinfo=UTC)}    # 03:30 CET: once only
    ids = {}
    for key, start in starts.items():
        doc = _session_document(patient["id"], start, [_set_document("elbow_active", 125.0, rx, 1, start)], minutes=5)
        assert api("POST", "/api/sessions", doc)[0] == 201
        ids[key] = doc["id"]
    shown = {"first": "Sun, 26 Oct 2025, 02:30 (UTC+02:00, before the clocks went back)",
             "second": "Sun, 26 Oct 2025, 02:30 (UTC+01:00, after the clocks went back)",
             "later": "Sun, 26 Oct 2025, 03:30"}

    text = api_text(server, f"/api/patients/{patient['id']}/export.csv?tz=Europe/Paris")
    rows = list(csv.DictReader(io.StringIO(text)))
    csv_offsets = {r["session_id"]: (r["session_started_local"], r["session_utc_offset"]) for r in rows}
    assert csv_offsets[ids["first"]] == ("2025-10-26 02:30:00", "UTC+02:00")
    assert csv_offsets[ids["second"]] == ("2025-10-26 02:30:00", "UTC+01:00")

    with checked_page(browser, server, timezone_id="Europe/Paris") as page:
        page.goto(f"{server}/patients/{patient['id']}")
        page.wait_for_selector("body[data-loaded=true]")
        for key, text in shown.items():
            assert page.locator(f"#sessions li[data-session-id='{ids[key]}'] a").inner_text() == text
        for key, text in shown.items():
            page.goto(f"{server}/sessions/{ids[key]}")
            page.wait_for_selector("#sets[data-ready=true]")
            assert page.locator("#session-title").inner_text() == f"Session of {text}"

    with checked_page(browser, server, timezone_id="America/Denver") as page:  # its clocks went back on 2 Nov
        page.goto(f"{server}/patients/{patient['id']}")
        page.wait_for_selector("body[data-loaded=true]")
        assert [page.locator(f"#sessions li[data-session-id='{ids[key]}'] a").inner_text() for key in starts] == \
            ["Sat, 25 Oct 2025, 18:30", "Sat, 25 Oct 2025, 19:30", "Sat, 25 Oct 2025, 20:30"]


def api_text(server: str, path: str) -> str:
    """A GET's body as text (the CSV export)."""
    with urllib.request.urlopen(server + path, timeout=30) as resp:
        return resp.read().decode("utf-8")


# ---- the target a set's reps were judged short of ---------------------------------------------------------

def test_a_set_judged_against_a_target_given_to_analyze_says_which_target(page, server) -> None:
    """A video saved with ``romcam analyze --save --target 140`` and no plan of that motion: its reps read "short of
    the target" under "no target (not from a prescription)". The set says the target its reps were judged by, as a
    safe limit given to romcam analyze is said; and one filed under the plan but analysed with a --target of its
    own (130°, not the plan's 110°) says the reps were judged against that."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Analyze Target Example")
    start = _today() - timedelta(days=1)
    unplanned = _set_document("elbow_active", 125.0, {"target_min": 140, "id": None}, 1, start)
    unplanned.update(prescription_id=None, prescription_version=None)
    own_target = _set_document("elbow_active", 125.0, {**rx, "target_min": 130}, 1, start + timedelta(seconds=30))
    doc = _session_document(patient["id"], start, [unplanned, own_target], minutes=5)
    assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/sessions/{doc['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    first, second = (page.locator(f"figure[data-set='{i}'] p.chart-note").inner_text() for i in (0, 1))
    assert "target 140°, given to romcam analyze (not from a prescription)" in first, first
    assert "no target" not in first, first
    assert "target 110° to 140° (plan v1); the repetitions were judged against 130°, given to romcam analyze" \
        in second, second
    notes = page.locator("figure[data-set='0'] table.reps tbody tr td:last-child").all_inner_texts()
    assert notes and all("short of the target" in n for n in notes), notes


def test_a_set_refiled_under_a_safer_limit_names_the_version_it_was_coached_to(page, server) -> None:
    """A live set the PT lowered the safe maximum of while it ran (and changed the target in the same edit) is
    filed under the new version, its band the earlier version's (target_version): the page read "target 110° to
    140° (plan v2)", though v2's target is 90° to 100°."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Refiled Example")
    edited = {k: rx[k] for k in ("exercise", "side", "mode", "posture", "reps", "hold_s", "sessions_per_week",
                                 "max_reps", "max_minutes", "notes")} | {"target_min": 90, "target_max": 100,
                                                                          "safe_max": 120}
    status, v2 = api("PUT", f"/api/prescriptions/{rx['id']}", edited)
    assert status == 200 and v2["version"] == 2
    start = _today() - timedelta(days=1)
    refiled = _set_document("elbow_active", 125.0, rx, 2, start)  # judged by v1's 110°, as the coach coached it
    refiled["target_version"] = 1
    doc = _session_document(patient["id"], start, [refiled], minutes=5)
    assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/sessions/{doc['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    note = page.locator("figure[data-set='0'] p.chart-note").inner_text()
    assert "target 110° to 140° (plan v1, the version the set was coached to; filed under v2, whose safer limit " \
        "took over during it)" in note, note
    assert "(plan v2)" not in note, note
    # the trend chart: the point's band is v1's (the API gave v2's 90° to 100°), its tooltip names both versions
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("#charts[data-ready=true]")
    canvas = "figure.chart[data-exercise=elbow_flexion] canvas"
    band = page.eval_on_selector(canvas, """c => { const ch = Chart.getChart(c);
        const p = ch.data.datasets[0].data.at(-1).p; return [p.target_min, p.target_max, p.target_version]; }""")
    assert band == [110, 140, 1], band
    tooltip = page.eval_on_selector(canvas, """c => { const ch = Chart.getChart(c);
        const i = ch.data.datasets[0].data.length - 1;
        ch.tooltip.setActiveElements([{datasetIndex: 0, index: i}], {x: 0, y: 0}); ch.update();
        return ch.tooltip.body.flatMap(b => b.lines); }""")
    assert any("(target 110° to 140°, plan v1, coached to; filed under v2)" in line for line in tooltip), tooltip


# ---- a trend chart with two series names whose safe limit each line is --------------------------------------

_SAFE_LABELS = """sel => Chart.getChart(document.querySelector(sel)).options.plugins.romcamOverlay.steps
  .filter(s => s.label).map(s => s.label)"""


def test_each_safe_limit_line_says_whose_it_is_when_a_chart_has_two_series(page, server) -> None:
    """Active shoulder flexion (safe maximum 150°) and passive (175°) share a chart. The passive sessions reach
    158°: drawn under an unnamed "safe max 150°" line they read as sessions past the safe limit (no red cross, the
    text beside the chart says none was). Each line names its series, on the patient page and in the report; a
    chart of one series keeps its plain label, and one limit that two series share is one line naming both."""
    api = Api(server)
    patient, elbow_rx = _patient_with_elbow_plan(api, "Two Limits Example")  # elbow: one series, safe max 150°
    rx = {}
    for key, safe, lo, hi in (("shoulder_active", 150, 120, 145), ("shoulder_passive", 175, 130, 165)):
        exercise, side, mode, posture, *_, per_week = PRESCRIPTIONS[key]
        _, rx[key] = api("POST", f"/api/patients/{patient['id']}/prescriptions", {
            "exercise": exercise, "side": side, "mode": mode, "posture": posture, "target_min": lo,
            "target_max": hi, "safe_max": safe, "reps": 8, "hold_s": 2, "sessions_per_week": per_week,
            "max_reps": None, "max_minutes": 20, "notes": ""})
    for i in range(4):
        start = _today() - timedelta(days=2 * (4 - i))
        sets = [_set_document("shoulder_active", 138.0 + i, rx["shoulder_active"], 1, start),
                _set_document("shoulder_passive", 158.0, rx["shoulder_passive"], 1, start + timedelta(minutes=4)),
                _set_document("elbow_active", 128.0, elbow_rx, 1, start + timedelta(minutes=8))]
        assert api("POST", "/api/sessions", _session_document(patient["id"], start, sets))[0] == 201

    shoulder = "figure.chart[data-exercise=shoulder_flexion] canvas"
    elbow = "figure.chart[data-exercise=elbow_flexion] canvas"
    for url in (f"{server}/patients/{patient['id']}", f"{server}/patients/{patient['id']}/report"):
        _open(page, url)
        assert page.evaluate(_SAFE_LABELS, shoulder) == [
            "safe max 150° (active, standing)", "safe max 175° (passive, seated)"], url
        assert page.evaluate(_SAFE_LABELS, elbow) == ["safe max 150°"], url
        series = page.evaluate("sel => Chart.getChart(document.querySelector(sel)).data.datasets.map(d => d.label)",
                               shoulder)
        assert series == ["Active, standing", "Passive, seated"], series  # no red cross: no rep went past a limit
        # every line's label is whole: "safe max 175° (passive, seated)" 5° under "normal max 180°" covered it
        boxes = page.evaluate("sel => Chart.getChart(document.querySelector(sel)).$romcamLabels", shoulder)
        assert {b["text"] for b in boxes} >= {"normal max 180°", "safe max 175° (passive, seated)"}, boxes
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not (a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]), (a, b)
    _screenshot(page, "report-two-safe-limits.png")

    # the PT raises the active limit to the passive one's: one line, named for both series
    active = rx["shoulder_active"]
    assert api("PUT", f"/api/prescriptions/{active['id']}", {
        **{k: active[k] for k in ("exercise", "side", "mode", "posture", "target_min", "target_max", "reps",
                                  "hold_s", "sessions_per_week", "max_reps", "max_minutes", "notes")},
        "safe_max": 175})[0] == 200
    start = _today() - timedelta(hours=1)
    sets = [_set_document("shoulder_active", 142.0, {**active, "safe_max": 175}, 2, start),
            _set_document("shoulder_passive", 158.0, rx["shoulder_passive"], 1, start + timedelta(minutes=4))]
    assert api("POST", "/api/sessions", _session_document(patient["id"], start, sets))[0] == 201
    _open(page, f"{server}/patients/{patient['id']}")
    assert page.evaluate(_SAFE_LABELS, shoulder) == ["safe max 175° (active, standing; passive, seated)"]


# ---- a session with no repetition counted is not drawn as a rep's peak ----------------------------------------

def test_a_session_with_no_repetition_counted_says_so_on_the_chart_and_in_the_report(page, server) -> None:
    """A seated knee that rests bent at 90° and moved a few degrees, no rep counted, reaches 97° — drawn as a plain
    point after a session whose reps peaked at 89°, it read as the knee bending 8° further. Its trend point says no
    rep was counted (`reps_counted` 0, the API), the chart draws it hollow, and the patient page's summary and the
    report's latest values say "no repetition counted"; sessions with reps keep their plain markers and words."""
    from romcam.degrees import whole_degrees

    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "No Rep Example")
    for i in range(3):
        start = _today() - timedelta(days=2 * (4 - i))
        doc = _session_document(patient["id"], start, [_set_document("elbow_active", 126.0 + i, rx, 1, start)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    # held near 95°, a few degrees of wobble: romcam's own analysis counts no rep
    motion = get_motion("elbow_flexion")
    t = np.arange(0, 20.0, 0.1)
    angle = 95.0 + 2.0 * np.sin(0.9 * t)
    samples = [Sample(index=i, t=float(ti), angle=float(a), confidence=0.9, view_ok=True, view_error=0.0, detail=None)
               for i, (ti, a) in enumerate(zip(t, angle, strict=True))]
    start = _today() - timedelta(hours=2)
    still = summarize(motion, "left", samples, fps=10.0, video="synthetic (browser test)", frames=len(t),
                      target=float(rx["target_min"]), model="pose_landmarker_full.task").to_document()
    assert still["reps"] == []
    still.update(frames_with_subject=len(t), mode="active", posture="seated", prescription_id=rx["id"],
                 prescription_version=1, started_at=start.isoformat())
    assert api("POST", "/api/sessions", _session_document(patient["id"], start, [still]))[0] == 201

    _, trends = api("GET", f"/api/patients/{patient['id']}/trends?exercise=elbow_flexion&side=left")
    [series] = trends["series"]
    assert [p["reps_counted"] for p in series["points"]] == [4, 4, 4, 0]
    best = f"{whole_degrees(series['points'][-1]['best_angle'])}°"

    _open(page, f"{server}/patients/{patient['id']}")
    summary = page.locator("figure.chart[data-exercise=elbow_flexion] ul.series-summary li").inner_text()
    assert f"latest {best} (no repetition counted) on " in summary, summary
    assert ("1 session with no repetition counted (hollow marker): the angle is the furthest the joint went, "
            "not a rep's peak.") in summary, summary
    hollow = page.evaluate("""sel => { const c = Chart.getChart(document.querySelector(sel));
        const d = c.data.datasets[0]; return d.data.map((_, i) => d.pointBackgroundColor({ raw: d.data[i] })); }""",
                           "figure.chart[data-exercise=elbow_flexion] canvas")
    assert hollow[-1] == "#ffffff" and "#ffffff" not in hollow[:-1], hollow

    _open(page, f"{server}/patients/{patient['id']}/report")
    [row] = page.locator("#latest tbody tr").all()
    assert row.locator("td").nth(2).inner_text().strip() == f"{best}: no repetition counted"
    _screenshot(page, "report-no-repetition-counted.png")


# ---- the session page's repetitions say which columns are times and which angles ----------------------------

def test_the_rep_table_says_which_columns_are_times_and_which_angles(page, server) -> None:
    """"Peak 2.0 s" beside "Highest 117°" read as a second angle: each column says what it holds."""
    from romcam.degrees import whole_degrees

    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Rep Table Example")
    start = _today() - timedelta(days=1)
    one = _set_document("elbow_active", 128.0, rx, 1, start)
    doc = _session_document(patient["id"], start, [one])
    assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/sessions/{doc['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    assert page.locator("table.reps thead th").all_inner_texts() == [
        "Rep", "Starts at", "Peak at", "Ends at", "Highest angle", "Lowest angle", "Held near peak", "Note"]
    first = one["reps"][0]
    cells = page.locator("table.reps tbody tr").first.locator("td").all_inner_texts()
    assert cells[:4] == ["1", f"{first['start']:.1f} s", f"{first['peak']:.1f} s", f"{first['end']:.1f} s"], cells
    assert cells[4] == f"{whole_degrees(first['max_angle'])}°", cells


# ---- reps short of the target are said where the PT looks first -------------------------------------------------

def _set_of_reps(exercise: str, side: str, extremes: list[float], rest: float, rx: dict,
                 started_at: datetime) -> dict:
    """A set whose rep ``k`` goes from ``rest`` to ``extremes[k]`` and back (5 s a rep, 10 Hz), through romcam's own
    analysis, judged against the plan's near end as `romcam analyze` judges it (target_min for a motion that works
    the high end, target_max for one that works the low end)."""
    motion = get_motion(exercise)
    t = np.arange(0, 2.0 + 5.0 * len(extremes), 0.1)
    k = np.clip(((t - 1.0) // 5.0).astype(int), 0, len(extremes) - 1)
    phase = np.clip(t - 1.0, 0, 5.0 * len(extremes)) / 5.0
    extreme = np.array(extremes)[k]
    angle = rest + (extreme - rest) * (1 - np.cos(2 * np.pi * phase)) / 2 + 0.4 * np.sin(7.3 * t)
    samples = [Sample(index=i, t=float(ti), angle=float(a), confidence=0.9, view_ok=True, view_error=0.0, detail=None)
               for i, (ti, a) in enumerate(zip(t, angle, strict=True))]
    near = rx["target_max"] if motion.works == "min" else rx["target_min"]
    doc = summarize(motion, side, samples, fps=10.0, video="synthetic (browser test)", frames=len(t),
                    target=None if near is None else float(near), model="pose_landmarker_full.task").to_document()
    doc.update(frames_with_subject=len(t), mode=rx["mode"], posture=rx["posture"], prescription_id=rx["id"],
               prescription_version=1, started_at=started_at.isoformat())
    return doc


def test_reps_short_of_the_target_are_said_in_the_session_list_the_chart_summary_and_the_report(page, server) -> None:
    """A knee flexion session with 3 of 8 reps peaking at 87-89° against a target of 90°-120° was marked only in the
    session page's rep rows: the patient page's session list, the text beside the chart and the report's latest
    values said reps past the safe limit but nothing of the target missed. They say it now, in the same places; a
    knee extension (worked at the low end: short means not straight enough) says it stopped above the target; an
    elbow set whose every rep reached its target says nothing."""
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Short Of Target Example {uuid.uuid4().hex[:4]}"})
    pid = patient["id"]
    rx = {}
    for key, exercise, side, lo, hi, safe in (("flex", "knee_flexion", "right", 90, 120, 130),
                                              ("ext", "knee_extension", "right", 0, 15, 100),
                                              ("elbow", "elbow_flexion", "left", 110, 140, 150)):
        _, rx[key] = api("POST", f"/api/patients/{pid}/prescriptions", {
            "exercise": exercise, "side": side, "mode": "active", "posture": "seated", "target_min": lo,
            "target_max": hi, "safe_max": safe, "reps": 8, "hold_s": 2, "sessions_per_week": 3})
    earlier = _today() - timedelta(days=3)  # every rep reached its target
    sets = [_set_of_reps("knee_flexion", "right", [100.0] * 8, 10.0, rx["flex"], earlier),
            _set_of_reps("knee_extension", "right", [8.0] * 4, 80.0, rx["ext"], earlier + timedelta(minutes=3))]
    assert api("POST", "/api/sessions", _session_document(pid, earlier, sets))[0] == 201
    latest = _today() - timedelta(hours=2)
    flex = _set_of_reps("knee_flexion", "right", [100.0, 89.0, 98.0, 88.0, 101.0, 87.0, 99.0, 100.0], 10.0,
                        rx["flex"], latest)
    ext = _set_of_reps("knee_extension", "right", [8.0, 24.0, 9.0, 7.0], 80.0, rx["ext"],
                       latest + timedelta(minutes=3))
    elbow = _set_of_reps("elbow_flexion", "left", [128.0] * 4, 10.0, rx["elbow"], latest + timedelta(minutes=6))
    # romcam's own analysis judged the reps: 3 of 8 short of 90°, 1 of 4 not straight to 15°, none of the elbow's
    assert [r["below_target"] for r in flex["reps"]] == [False, True, False, True, False, True, False, False]
    assert [r["below_target"] for r in ext["reps"]] == [False, True, False, False]
    assert [r["below_target"] for r in elbow["reps"]] == [False] * 4
    # measured only (no plan, no target): its reps at 60° are judged short of nothing, and say nothing
    measured = _set_of_reps("knee_flexion", "left", [60.0] * 4, 10.0, {
        "id": None, "mode": "active", "posture": "seated", "target_min": None, "target_max": None},
        latest + timedelta(minutes=9))
    measured.update(prescription_id=None, prescription_version=None)
    assert [r["below_target"] for r in measured["reps"]] == [None] * 4
    assert api("POST", "/api/sessions", _session_document(pid, latest, [flex, ext, elbow, measured]))[0] == 201

    _, sessions = api("GET", f"/api/patients/{pid}/sessions")
    assert [[(x["reps_short_of_target"], x["target_min"], x["target_max"]) for x in s["sets"]] for s in sessions] == [
        [(3, 90, 120), (1, 0, 15), (0, 110, 140), (0, None, None)], [(0, 90, 120), (0, 0, 15)]]
    _, trend = api("GET", f"/api/patients/{pid}/trends?exercise=knee_flexion&side=right")
    assert [(p["reps_short_of_target"], p["reps_counted"]) for p in trend["series"][0]["points"]] == [(0, 8), (3, 8)]

    flex_words = "3 of 8 reps short of the target 90°–120° (stopped below 90°)"
    ext_words = "1 of 4 reps short of the target 0°–15° (stopped above 15°)"
    _open(page, f"{server}/patients/{pid}")
    page.wait_for_selector("#sessions li[data-session-id]")
    items = page.locator("#sessions li[data-session-id]")
    newest = items.nth(0).inner_text()
    assert f", {flex_words}" in newest and f", {ext_words}" in newest, newest
    assert "Knee flexion (left, Active, seated): 4 reps, best " in newest, newest
    assert newest.count("short of the target") == 2, f"the elbow's or the measured set said so: {newest}"
    assert "short of the target" not in items.nth(1).inner_text(), items.nth(1).inner_text()
    summary = {m: page.locator(f"figure.chart[data-exercise={m}] ul.series-summary").inner_text()
               for m in ("knee_flexion", "knee_extension", "elbow_flexion")}
    assert (f"Short of the target: 1 of 2 sessions with a target had reps short of it; the latest, "
            f"{page.evaluate('d => window.romcam.fmtShortDate(d)', trend['series'][0]['points'][-1]['date'])}: "
            f"{flex_words}.") in summary["knee_flexion"], summary
    assert ext_words in summary["knee_extension"], summary
    assert "short of" not in summary["elbow_flexion"].lower(), summary

    _open(page, f"{server}/patients/{pid}/report")
    rows = {r.locator("td").nth(0).inner_text(): r.locator("td").nth(2).inner_text()
            for r in page.locator("#latest tbody tr").all()}
    assert flex_words in rows["Knee flexion, right"], rows
    assert ext_words in rows["Knee extension (seated), right"], rows
    assert "short of" not in rows["Elbow flexion, left"], rows
    notes = page.locator("figure.chart[data-exercise=knee_flexion] p.short-note").inner_text()
    assert notes.startswith("Active, seated: Short of the target: 1 of 2 sessions") and flex_words in notes, notes
    assert not page.locator("figure.chart[data-exercise=elbow_flexion] p.short-note").count()
    _screenshot(page, "report-short-of-target.png")
