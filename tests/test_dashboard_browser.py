"""The PT's dashboard in a real browser (Debian's chromium, driven by Playwright) against a real server.

The server is ``romcam serve`` on a fresh SQLite database, seeded only through the public JSON API
(docs/api.md): one patient, three prescriptions on two motions, and 8 weeks of ``romcam.session/1``
documents whose sets are built by romcam's own analysis code from synthetic angle curves. One series
(right shoulder flexion, active, standing) loses 28° in its last 3 sessions, so a decline alert must
fire; the others stay within a few degrees, so they must not.

Point the test at an already running conforming server with ROMCAM_DASHBOARD_URL=http://host:port
(it adds a new patient there). Screenshots go to tests/artifacts/ (gitignored): look at them.

Without /usr/bin/chromium or the playwright package the test skips, unless CI is set: then it fails.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from helpers import (
    ARTIFACTS,
    chromium,
    contrast_ratio,
    require_browser,
    romcam_serve,
    wait_until_up,
)

from romcam.analysis import summarize
from romcam.catalog import get_motion
from romcam.degrees import whole_degrees  # the page's Math.round (half up), not Python's round
from romcam.measure import Sample
from romcam.sample_rate import MIN_COUNT_FPS, too_few_frames_note

STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
              "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
WEEKS = 8
DECLINE_DEG = 28.0  # larger than any motion's measurement noise, so the alert must fire


# ---- the seed: built from the public API's documents ----------------------------------------------

# (exercise, side, mode, posture, target_min, target_max, safe_max, sessions_per_week)
PRESCRIPTIONS = {
    "shoulder_active": ("shoulder_flexion", "right", "active", "standing", 120, 160, 170, 3),
    "shoulder_passive": ("shoulder_flexion", "right", "passive", "seated", 130, 165, 175, 2),
    "elbow_active": ("elbow_flexion", "left", "active", "seated", 110, 140, 150, 3),
}
ELBOW_V2 = {"target_min": 105, "target_max": 135, "safe_max": 150}  # a plan edit half-way: version 2


def _schedule() -> list[tuple[int, list[str]]]:
    """(days ago, prescriptions done) for 8 weeks of sessions, three a week, the last one 2 days ago."""
    out = []
    for week in range(WEEKS):
        for offset in (0, 2, 4):
            days_ago = WEEKS * 7 - 1 - (7 * week + offset)
            done = ["shoulder_active", "elbow_active"]
            if offset != 2:
                done.insert(1, "shoulder_passive")  # passive twice a week, with the caregiver
            out.append((days_ago, done))
    return out


def _peak(key: str, index: int, total: int) -> float:
    """The best angle of session ``index``: steady with a little session-to-session wobble; the active
    shoulder drops by DECLINE_DEG in the last 3 sessions."""
    wobble = 2.0 * math.sin(1.7 * index + len(key))
    base = {"shoulder_active": 150.0, "shoulder_passive": 158.0, "elbow_active": 128.0}[key]
    if key == "shoulder_active" and index >= total - 3:
        base -= DECLINE_DEG
    return round(base + wobble, 1)


def _set_document(key: str, peak: float, rx: dict, version: int, started_at: datetime,
                  rest: float | None = None, hidden_beyond: float | None = None, step: float = 0.1) -> dict:
    """One set: a 4-rep synthetic angle curve at 10 Hz through romcam's own analysis, plus the session fields.
    ``rest``: where each rep starts and returns (default 10°, or 60° past the peak for a motion that works
    the minimum). ``hidden_beyond``: angles past this (toward the peak) are not measured, as when a
    caregiver's hands cover the joint at the end of each movement. ``step``: seconds between samples (0.1: 10 Hz;
    0.5, a loaded machine measuring a camera twice a second)."""
    exercise, side, mode, posture, *_ = PRESCRIPTIONS[key]
    motion = get_motion(exercise)
    if rest is None:
        rest = 10.0 if motion.works == "max" else peak + 60
    t = np.arange(0, 26.0, step)
    phase = np.clip(t - 1.0, 0, 24.0) / 6.0
    angle = rest + (peak - rest) * (1 - np.cos(2 * np.pi * phase)) / 2
    angle += 0.4 * np.sin(7.3 * t)  # a little sensor noise
    if hidden_beyond is not None:
        angle[angle > hidden_beyond if motion.works == "max" else angle < hidden_beyond] = np.nan
    samples = [Sample(index=i, t=float(ti), angle=float(a), confidence=0.9, view_ok=True, view_error=0.0, detail=None)
               for i, (ti, a) in enumerate(zip(t, angle, strict=True))]
    doc = summarize(motion, side, samples, fps=1 / step, video="synthetic (browser test)", frames=len(t),
                    target=float(rx["target_min"]), model="pose_landmarker_full.task").to_document()
    doc["frames_with_subject"] = len(t)
    doc.update(mode=mode, posture=posture, prescription_id=rx["id"], prescription_version=version,
               started_at=started_at.isoformat())
    return doc


class Api:
    """A tiny JSON client on the standard library (the test must not depend on the server's code)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        import urllib.error
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as err:
            raw = err.read()
            err.close()
            raise AssertionError(f"{method} {path} → {err.code}: {raw[:600]!r}") from None


def _session_document(patient_id: str, start: datetime, sets: list[dict], minutes: int = 10) -> dict:
    """A ``romcam.session/1`` document of ``sets`` (from :func:`_set_document`), ``minutes`` long."""
    return {"schema": "romcam.session/1", "id": str(uuid.uuid4()), "patient_id": patient_id,
            "started_at": start.isoformat(), "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
            "source": "synthetic (browser test)", "status": "complete", "demo": False,
            "model": "pose_landmarker_full.task", "romcam_version": "0.1.0", "sets": sets}


def seed(api: Api) -> dict:
    """One patient, three prescriptions, 8 weeks of sessions; returns what the pages must show."""
    _, patient = api("POST", "/api/patients", {"name": f"Alex Example {uuid.uuid4().hex[:4]}",
                                               "notes": "seeded by the browser test"})
    rx = {}
    for key, (exercise, side, mode, posture, lo, hi, safe, per_week) in PRESCRIPTIONS.items():
        status, rx[key] = api("POST", f"/api/patients/{patient['id']}/prescriptions", {
            "exercise": exercise, "side": side, "mode": mode, "posture": posture, "target_min": lo,
            "target_max": hi, "safe_max": safe, "reps": 8, "hold_s": 2, "sessions_per_week": per_week,
            "max_reps": None, "max_minutes": 20, "notes": "Slowly, and stop if it hurts."})
        assert status == 201 and rx[key]["version"] == 1
    # the PT moved the elbow target half-way through: sets after that follow version 2
    status, v2 = api("PUT", f"/api/prescriptions/{rx['elbow_active']['id']}", {
        **{k: rx["elbow_active"][k] for k in ("exercise", "side", "mode", "posture", "reps", "hold_s",
                                              "sessions_per_week", "max_reps", "max_minutes", "notes")}, **ELBOW_V2})
    assert status == 200 and v2["version"] == 2 and v2["id"] == rx["elbow_active"]["id"]

    schedule = _schedule()
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    counts: dict[str, int] = {}
    sessions = []
    for index, (days_ago, done) in enumerate(schedule):
        start = today - timedelta(days=days_ago)
        sets = []
        for n, key in enumerate(done):
            version = 2 if key == "elbow_active" and index >= len(schedule) // 2 else 1
            target = {**rx[key], **ELBOW_V2} if version == 2 else rx[key]
            sets.append(_set_document(key, _peak(key, index, len(schedule)), target, version,
                                      start + timedelta(minutes=4 * n)))
            counts[key] = counts.get(key, 0) + 1
        doc = _session_document(patient["id"], start, sets, minutes=15)
        status, body = api("POST", "/api/sessions", doc)
        assert status == 201 and body == {"id": doc["id"], "created": True}, body
        sessions.append(doc)
    # re-sending a session is idempotent (a patient's laptop retrying an upload)
    status, body = api("POST", "/api/sessions", sessions[-1])
    assert status == 200 and body["created"] is False
    return {"patient": patient, "rx": rx, "counts": counts, "sessions": sessions}


# ---- the server ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    external = os.environ.get("ROMCAM_DASHBOARD_URL")
    if external:
        base = external.rstrip("/")
        wait_until_up(base + "/api/patients")
        yield base
        return
    tmp = tmp_path_factory.mktemp("dashboard")
    with romcam_serve(tmp, ready="/api/patients") as (port, _):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def seeded(server: str) -> dict:
    return seed(Api(server))


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, server: str) -> Iterator[object]:
    """A page that fails the test on a script error, a console error or any request off the server."""
    with checked_page(browser, server) as pg:
        yield pg


@contextlib.contextmanager
def checked_page(browser, server: str, *, allow: tuple[str, ...] = (), **context: object) -> Iterator[object]:
    """As the ``page`` fixture, in a browser context with ``context`` (a time zone, say) added; ``allow``: console
    errors the test means to cause (chromium logs a request the server refused), by their text."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1, **context})
    pg = context.new_page()
    problems: list[str] = []
    origin = urlsplit(server)
    pg.on("pageerror", lambda err: problems.append(f"script error: {err}"))
    pg.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)

    def offline_only(route) -> None:
        url = urlsplit(route.request.url)
        if (url.scheme, url.netloc) == (origin.scheme, origin.netloc) and route.request.resource_type == "document":
            # the pages must hold under a strict CSP (no inline script or style): a violation is a console error
            response = route.fetch()
            route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})
        elif (url.scheme, url.netloc) == (origin.scheme, origin.netloc) or url.scheme in ("data", "blob"):
            route.continue_()
        else:
            problems.append(f"request off the server (the dashboard must work offline): {route.request.url}")
            route.abort()

    pg.route("**/*", offline_only)
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
    problems = [p for p in problems if not any(text in p for text in allow)]
    assert not problems, "\n".join(problems)


def _screenshot(pg, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    pg.screenshot(path=str(path), full_page=True)
    return path


def _ink(pg, canvas_selector: str, rgb: tuple[int, int, int]) -> int:
    """How many pixels of a canvas are close to a colour (is the curve really drawn?)."""
    return pg.eval_on_selector(canvas_selector, """(c, rgb) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
          if (Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i+1] - rgb[1]) < 40 && Math.abs(d[i+2] - rgb[2]) < 40) n++;
        return n; }""", list(rgb))


# ---- the pages ---------------------------------------------------------------------------------------

def test_patient_list_shows_the_alert_badge(page, server, seeded) -> None:
    pid = seeded["patient"]["id"]
    page.goto(server + "/")
    page.wait_for_selector("body[data-loaded=true]")
    row = page.locator(f"tr[data-patient-id='{pid}']")
    assert row.is_visible()
    assert row.locator("a.patient-link").inner_text() == seeded["patient"]["name"]
    badge = row.locator(".badge-alert")
    assert badge.is_visible(), "the list must flag the patient with a change to review"
    assert int(badge.get_attribute("data-open-alerts")) == 1
    assert "to review" in badge.inner_text()
    # last session 2 days ago; adherence figures are shown, not blank
    assert "2 days ago" in row.inner_text()
    assert row.locator(".pct").count() == 2
    _screenshot(page, "dashboard-patients.png")


def _noise_note(figure) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(high end, low end) from a chart's note "… about ±H° at the high end …, ±L° at the low end"."""
    text = figure.locator("p.chart-note").inner_text()
    found = re.search(r"about ±(\d+)° at the high end of the range, ±(\d+)° at the low end", text)
    assert found, text
    return int(found[1]), int(found[2])


def _expected_noise(exercise: str) -> tuple[int, int]:
    m = get_motion(exercise)
    high, low = (m.measurement_noise_deg, m.return_noise_deg) if m.works == "max" else (m.return_noise_deg,
                                                                                      m.measurement_noise_deg)
    return round(high), round(low)


def test_patient_page_has_a_chart_per_motion_with_every_session(page, server, seeded) -> None:
    pid = seeded["patient"]["id"]
    counts = seeded["counts"]
    page.goto(f"{server}/patients/{pid}")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    assert page.locator("#patient-name").inner_text() == seeded["patient"]["name"]

    figures = page.locator("#charts figure.chart")
    assert figures.count() == 2, "one chart per prescribed motion (exercise and side)"
    shoulder = page.locator("figure.chart[data-exercise=shoulder_flexion][data-side=right]")
    elbow = page.locator("figure.chart[data-exercise=elbow_flexion][data-side=left]")
    assert int(shoulder.get_attribute("data-points")) == counts["shoulder_active"] + counts["shoulder_passive"]
    assert int(elbow.get_attribute("data-points")) == counts["elbow_active"]
    # active and passive (and each posture) are separate series, never mixed
    series = {(s["mode"], s["posture"]): s["points"] for s in json.loads(shoulder.get_attribute("data-series"))}
    assert series == {("active", "standing"): counts["shoulder_active"],
                      ("passive", "seated"): counts["shoulder_passive"]}
    # and Chart.js really holds those points
    drawn = page.eval_on_selector("figure.chart[data-exercise=shoulder_flexion] canvas",
                                  "c => Chart.getChart(c).data.datasets.map(d => [d.label, d.data.length])")
    assert sorted(n for _, n in drawn) == sorted([counts["shoulder_active"], counts["shoulder_passive"]])
    assert _ink(page, "figure.chart[data-exercise=shoulder_flexion] canvas", (0x00, 0x72, 0xB2)) > 200
    # how sure each end of the range is, from the catalog: the elbow's straight end far less than its peak
    assert _noise_note(elbow) == _expected_noise("elbow_flexion")
    assert _noise_note(shoulder) == _expected_noise("shoulder_flexion")

    # the decline is flagged, for the declining series only
    badge = page.locator("#alert-badge")
    assert badge.is_visible() and badge.get_attribute("data-open-alerts") == "1"
    alerts = page.locator("#alerts li.alert[data-status=open]")
    assert alerts.count() == 1
    assert alerts.first.get_attribute("data-kind") == "decline"
    assert alerts.first.get_attribute("data-exercise") == "shoulder_flexion"
    assert alerts.first.get_attribute("data-mode") == "active"
    assert alerts.first.locator(".alert-message").inner_text().strip()

    # the adherence calendar has the rows its heading says and counts every session
    _assert_calendar_rows_agree_with_heading(page, "#adherence-h")
    days = page.locator("#adherence td[data-date]")
    total = sum(int(n) for n in days.evaluate_all("cells => cells.map(c => c.dataset.sessions)"))
    assert total == len(seeded["sessions"])

    # every recent session is a link a keyboard reaches (a chart point needs a pointer), newest first
    links = page.locator("#sessions li a")
    assert links.count() == min(20, len(seeded["sessions"]))
    newest = max(seeded["sessions"], key=lambda d: d["started_at"])
    assert links.first.get_attribute("href") == f"/sessions/{newest['id']}"
    assert "Shoulder flexion" in page.locator("#sessions li").first.inner_text()
    page.locator("#sessions li a").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/sessions/{newest['id']}")
    page.go_back()
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too

    # the plan: three prescriptions, the elbow at version 2
    rows = page.locator("table.prescriptions tbody tr[data-prescription-id]")
    assert rows.count() == 3
    assert "v2" in page.locator(f"tr[data-prescription-id='{seeded['rx']['elbow_active']['id']}']").inner_text()
    path = _screenshot(page, "dashboard-patient.png")
    assert path.stat().st_size > 20_000


def test_session_page_draws_the_curve_with_its_reps(page, server, seeded) -> None:
    doc = seeded["sessions"][-1]
    page.goto(f"{server}/sessions/{doc['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    figures = page.locator("#sets figure.chart")
    assert figures.count() == len(doc["sets"])
    for i, set_doc in enumerate(doc["sets"]):
        fig = figures.nth(i)
        assert fig.get_attribute("data-exercise") == set_doc["exercise"]
        assert int(fig.get_attribute("data-points")) == len(set_doc["samples"])
        assert int(fig.get_attribute("data-reps")) == len(set_doc["reps"]) > 0
        assert fig.locator("table.reps tbody tr").count() == len(set_doc["reps"])
        assert _noise_note(fig) == _expected_noise(set_doc["exercise"])
    assert _ink(page, "#sets figure.chart >> nth=0 >> canvas", (0x00, 0x72, 0xB2)) > 300, "the curve is drawn"
    assert page.locator("#patient-link").get_attribute("href") == f"/patients/{doc['patient_id']}"
    _screenshot(page, "dashboard-session.png")


def _assert_calendar_rows_agree_with_heading(page, heading: str) -> None:  # type: ignore[no-untyped-def]
    """The calendar's heading ("Sessions, this week and the 8 weeks before") and its rows agree: a PT read
    "Sessions, last 8 weeks" over 9 rows, the first of them cut mid-week. Now: N whole weeks, then this one."""
    said = re.fullmatch(r"Sessions, this week and the (\d+) weeks before", page.locator(heading).inner_text().strip())
    assert said, page.locator(heading).inner_text()
    rows = page.locator("#adherence table.calendar tbody tr")
    assert rows.count() == int(said[1]) + 1
    for i in range(int(said[1])):  # every week before this one whole: no day outside the period
        assert rows.nth(i).locator("td[data-date]").count() == 7, rows.nth(i).inner_text()
    today = page.evaluate("(() => { const d = new Date(); return new Date(d.getTime() - d.getTimezoneOffset() * 60000)"
                          ".toISOString().slice(0, 10); })()")
    assert rows.last.locator(f"td[data-date='{today}']").count() == 1


def test_report_is_printable(page, server, seeded) -> None:
    pid = seeded["patient"]["id"]
    page.goto(f"{server}/patients/{pid}/report")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    assert page.locator("#charts figure.chart").count() == 2
    assert page.locator("#latest tbody tr").count() == 3  # one row per (motion, side, mode, posture)
    assert _noise_note(page.locator("figure.chart[data-exercise=elbow_flexion]")) == _expected_noise("elbow_flexion")
    _assert_calendar_rows_agree_with_heading(page, "#report-adherence-h")
    _screenshot(page, "dashboard-report.png")
    page.emulate_media(media="print")
    assert not page.locator("#print-button").is_visible()
    assert page.pdf(format="A4")[:4] == b"%PDF"


def _patient_with_elbow_plan(api: Api, name: str) -> tuple[dict, dict]:
    """A new patient (``name`` and a random suffix) with the active elbow prescription: (patient, prescription)."""
    _, patient = api("POST", "/api/patients", {"name": f"{name} {uuid.uuid4().hex[:4]}"})
    exercise, side, mode, posture, lo, hi, safe, per_week = PRESCRIPTIONS["elbow_active"]
    _, rx = api("POST", f"/api/patients/{patient['id']}/prescriptions", {
        "exercise": exercise, "side": side, "mode": mode, "posture": posture, "target_min": lo, "target_max": hi,
        "safe_max": safe, "reps": 8, "hold_s": 2, "sessions_per_week": per_week, "max_reps": None,
        "max_minutes": 20, "notes": ""})
    return patient, rx


def test_an_elbow_that_straightens_less_is_flagged_though_its_peaks_hold(page, server) -> None:
    """The other end of the range narrowing (how a contracture shows) has an alert of its own, titled
    for the PT, even while every peak stays put."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Contracture Example")
    noise = get_motion("elbow_flexion").return_noise_deg
    rests = [8.0, 9.0, 7.0, 8.0, 8.0] + [8.0 + noise + 7.0 + d for d in (1.0, -1.0, 0.0)]
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    for i, rest in enumerate(rests):
        start = today - timedelta(days=2 * (len(rests) - i))
        doc = _session_document(patient["id"], start, [_set_document("elbow_active", 128.0, rx, 1, start, rest=rest)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    alerts = page.locator("#alerts li.alert[data-status=open]")
    assert alerts.count() == 1  # the peaks held: no decline, only the other end
    assert alerts.first.get_attribute("data-kind") == "other_end"
    title = alerts.first.locator(".alert-title").inner_text()
    assert "The other end of the range is narrowing" in title and "Elbow flexion" in title, title
    message = alerts.first.locator(".alert-message").inner_text()
    assert "the low end of the range (where each rep starts and returns)" in message, message
    assert f"measurement noise ±{noise:g}°" in message


def test_the_target_now_is_the_plan_as_it_stands_not_the_last_sessions(page, server) -> None:
    """The PT edits the plan after the last session: the chart's summary gives the new target (the
    points keep the one they followed, in their tooltips)."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Plan Edit Example")
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    for days_ago in (4, 2):
        start = today - timedelta(days=days_ago)
        doc = _session_document(patient["id"], start, [_set_document("elbow_active", 128.0, rx, 1, start)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    edit = {k: rx[k] for k in ("exercise", "side", "mode", "posture", "safe_max", "reps", "hold_s",
                               "sessions_per_week", "max_reps", "max_minutes", "notes")}
    status, v2 = api("PUT", f"/api/prescriptions/{rx['id']}", edit | {"target_min": 90, "target_max": 120})
    assert status == 200 and v2["version"] == 2, v2
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    summary = page.locator("figure.chart[data-exercise=elbow_flexion] ul.series-summary").inner_text()
    assert "target now 90° to 120° (plan v2)" in summary, summary
    assert "110°" not in summary, summary


def test_a_new_plan_counts_from_its_start_in_the_readers_days(browser, server) -> None:
    """A plan made today with a session done: on track, not 33 % / 8 % of weeks nobody asked for; the list
    and the page say the figures count from the plan's start, and the calendar greys the days before it.
    The calendar's days are the reader's: a session at 8 pm in Denver is on that Denver day, where the
    PT in Denver looks for it (in UTC it is the next day's)."""
    import csv
    import io
    from zoneinfo import ZoneInfo

    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "New Plan Example")
    denver = ZoneInfo("America/Denver")
    local = datetime.now(denver) - timedelta(hours=1)
    evening = local.replace(hour=20, minute=0, second=0, microsecond=0)
    evening = evening if evening <= local else evening - timedelta(days=1)
    for start in (evening, datetime.now(UTC)):  # the evening one was before the plan: not counted
        doc = _session_document(patient["id"], start, [_set_document("elbow_active", 128.0, rx, 1, start)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    with checked_page(browser, server, timezone_id="America/Denver") as page:
        page.goto(server + "/")
        page.wait_for_selector("body[data-loaded=true]")
        row = page.locator(f"tr[data-patient-id='{patient['id']}']")
        assert row.locator(".pct").all_inner_texts() == ["100%", "100%"]
        plan_day = datetime.fromisoformat(rx["created_at"]).astimezone(denver).date()
        age = (datetime.now(denver).date() - plan_day).days  # 0, or 1 just after local midnight
        assert row.locator(".since").all_inner_texts() == ["plan made today" if age == 0 else "plan 1 day old"] * 2

        page.goto(f"{server}/patients/{patient['id']}")
        page.wait_for_selector("#charts[data-ready=true]")
        page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
        summary = page.locator("#patient-summary").inner_text()
        assert "100% over 7 days, 100% over 30 days" in summary, summary
        assert "both figures count from then" in summary, summary
        cells = {c["date"]: c for c in page.locator("#adherence td[data-date]").evaluate_all(
            "cells => cells.map(c => ({date: c.dataset.date, n: Number(c.dataset.sessions),"
            " before: c.classList.contains('day-before')}))")}
        today = datetime.now(denver).date()
        assert max(cells) == today.isoformat()  # the reader's today, not UTC's
        assert cells[evening.date().isoformat()]["n"] >= 1  # the Denver evening's own day
        utc_day = evening.astimezone(UTC).date().isoformat()
        if utc_day in cells and utc_day != today.isoformat():
            assert cells[utc_day]["n"] == 0
        greyed = sorted(d for d, c in cells.items() if c["before"])
        assert greyed == [d for d in sorted(cells) if d < plan_day.isoformat()]
        assert "the days before it are greyed" in page.locator("#adherence").inner_text()
        # the CSV the page links to gives the times in the reader's zone too, as a spreadsheet reads them
        href = page.locator("#csv-link").get_attribute("href")
        assert href.endswith("/export.csv?tz=America%2FDenver"), href
        rows = list(csv.DictReader(io.StringIO(page.request.get(server + href).text())))
        assert {r["time_zone"] for r in rows} == {"America/Denver"}
        assert evening.strftime("%Y-%m-%d %H:%M:%S") in {r["session_started_local"] for r in rows}


def test_the_plans_first_week_asks_whole_sessions_on_the_page_and_in_the_report(browser, tmp_path) -> None:
    """A plan of 3 a week made on a Saturday: the calendar's first week read "0 / 0.9" — a PT reads sessions,
    not fractions. It now reads "0 / 1", says the plan started mid-week, and the printed report says the same."""
    from romcam.store import Store
    from romcam.store.models import Prescription

    with romcam_serve(tmp_path, "--no-live", ready="/api/patients") as (port, _):
        base = f"http://127.0.0.1:{port}"
        patient, rx = _patient_with_elbow_plan(Api(base), "Mid Week Example")  # 3 a week
        today = datetime.now(UTC).date()
        saturday = today - timedelta(days=today.weekday() + 2)  # last week's: its week is over
        store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")  # the server's database: the PT made it then
        try:
            with store.session() as db:
                db.get(Prescription, uuid.UUID(rx["id"])).created_at = datetime(
                    saturday.year, saturday.month, saturday.day, 9, tzinfo=UTC)
                db.commit()
        finally:
            store.close()
        with checked_page(browser, base, timezone_id="UTC") as page:
            for path in ("", "/report"):
                page.goto(f"{base}/patients/{patient['id']}{path}")
                page.wait_for_selector("body[data-loaded=true]")  # the calendar too
                calendar = page.locator("#adherence")
                week = calendar.locator("tbody tr", has=page.locator(f"td[data-date='{saturday.isoformat()}']"))
                total = week.locator("td.week-total")
                assert total.inner_text() == "0 / 1 (plan started mid-week)", (path, total.inner_text())
                assert "the plan started mid-week, so this week asks for 1 of its 3 a week, for the 2 days it held" \
                    in total.get_attribute("aria-label")
                assert [t.split(" (")[0].split(" / ")[1] for t in calendar.locator("td.week-total").all_inner_texts()
                        if " / " in t][-1] == "3"  # this week, a whole one: all 3
                assert not re.search(r"/ \d+\.\d", calendar.inner_text()), calendar.inner_text()
                hint = calendar.locator("p.plan-start").inner_text()
                assert hint.startswith("The plan started on a Saturday, mid-week: its first week asks for 1 session"), \
                    hint


def test_a_session_outside_the_plan_is_shown_apart_not_counted_as_done(page, server) -> None:
    """The plan holds the left elbow; today the patient did it once, and also a right shoulder the plan does not
    hold (``romcam analyze --save``, say): the calendar counts 1 done, and says the other apart."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Outside Plan Example")
    now = datetime.now(UTC)  # after the plan was made: adherence counts from then
    elbow = _set_document("elbow_active", 128.0, rx, 1, now)
    shoulder = _set_document("shoulder_active", 150.0, rx | {"target_min": 120}, 1, now)
    shoulder.update(prescription_id=None, prescription_version=None)  # the plan has no shoulder
    for doc in (_session_document(patient["id"], now, [elbow]), _session_document(patient["id"], now, [shoulder])):
        assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    cells = page.locator("#adherence td[data-date]").evaluate_all(
        "cells => cells.map(c => [Number(c.dataset.sessions), Number(c.dataset.outside)])")
    assert [sum(c[0] for c in cells), sum(c[1] for c in cells)] == [1, 1]
    assert page.locator("table.calendar td.week-total").last.inner_text().startswith("1 / ")
    hint = page.locator("#adherence p.outside-plan").inner_text()
    assert hint.startswith("Also done: 1 session outside the plan"), hint
    assert "100% over 7 days" in page.locator("#patient-summary").inner_text()  # 1 of the 0.4 asked since today


def test_a_morning_saved_in_three_pieces_is_one_session_done(page, server) -> None:
    """Three elbow clips saved one by one a minute apart (``romcam analyze --save`` of each): the calendar counts
    one session done, a sitting, and says under it what a count is (it counted 3, a week's plan in one go)."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Sitting Example")
    # after the plan was made: a sitting begun before it is before the plan (as the adherence figure counts)
    made = datetime.fromisoformat(rx["created_at"])
    for start in (made + timedelta(seconds=1), made + timedelta(minutes=1), made + timedelta(minutes=2)):
        doc = _session_document(patient["id"], start, [_set_document("elbow_active", 128.0, rx, 1, start)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    cells = page.locator("#adherence td[data-date]").evaluate_all("cells => cells.map(c => Number(c.dataset.sessions))")
    assert sum(cells) == 1, cells
    assert page.locator("table.calendar td.week-total").last.inner_text().startswith("1 / ")
    note = page.locator("#adherence p.sittings").inner_text()
    assert note.startswith("Each session counted here is a sitting"), note


def test_a_furthest_point_not_seen_is_marked_and_raises_no_decline(page, server) -> None:
    """The elbow's last 3 sessions were filmed with a caregiver's hands over it at the top of each movement:
    romcam's own analysis finds the reps but not their furthest point. The angles seen (about 90°, well
    below the 128° before) are bounds: marked as such on every page, and no decline note."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Out Of View Example")
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    n, docs = 8, []
    for i in range(n):
        start = today - timedelta(days=2 * (n - i))
        hidden = 90.0 if i >= n - 3 else None
        one = _set_document("elbow_active", 128.0, rx, 1, start, hidden_beyond=hidden)
        doc = _session_document(patient["id"], start, [one])
        assert [r["peak_seen"] for r in doc["sets"][0]["reps"]] == [hidden is None] * 4  # the analysis says so
        assert api("POST", "/api/sessions", doc)[0] == 201
        docs.append(doc)

    # the patient page: no decline note; the 3 bounds are hollow markers, said so in the legend and tooltip
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    assert page.locator("#alerts li.alert[data-status=open]").count() == 0
    canvas = "figure.chart[data-exercise=elbow_flexion] canvas"
    fills = page.eval_on_selector(canvas, """c => { const ch = Chart.getChart(c); const d = ch.data.datasets[0];
        return d.data.map((_, i) => ch.getDatasetMeta(0).data[i].options.backgroundColor); }""")
    assert fills[-3:] == ["#ffffff"] * 3 and "#ffffff" not in fills[:-3], fills
    legend = page.eval_on_selector(canvas, "c => Chart.getChart(c).legend.legendItems.map(i => i.text)")
    assert any("furthest point not seen" in text for text in legend), legend
    tooltip = page.eval_on_selector(canvas, """c => { const ch = Chart.getChart(c);
        const i = ch.data.datasets[0].data.length - 1;
        ch.tooltip.setActiveElements([{datasetIndex: 0, index: i}], {x: 0, y: 0}); ch.update();
        return ch.tooltip.body.flatMap(b => b.lines); }""")
    assert "furthest point not seen: at least this far" in tooltip, tooltip
    assert re.search(r"\d+° or more", tooltip[0]), tooltip
    summary = page.locator("figure.chart[data-exercise=elbow_flexion] ul.series-summary").inner_text()
    assert "(furthest point not seen)" in summary and "left out of the median" in summary, summary
    _screenshot(page, "dashboard-not-seen-patient.png")

    # the session page: each rep says so, and the set
    page.goto(f"{server}/sessions/{docs[-1]['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    rows = page.locator("table.reps tbody tr")
    assert rows.count() == 4
    for i in range(4):
        assert "furthest point not seen" in rows.nth(i).inner_text()
        assert "or more" in rows.nth(i).locator("td").nth(4).inner_text()  # the highest angle seen, a bound
    note = page.locator("figure.chart p.chart-note")
    assert note.get_attribute("data-best-seen") == "false"
    assert re.search(r"Range reached 10° to \d+° or more \(furthest point not seen in 4 of 4 repetitions",
                     note.inner_text()), note.inner_text()
    _screenshot(page, "dashboard-not-seen-session.png")
    # an earlier session, seen throughout, has no such note
    page.goto(f"{server}/sessions/{docs[0]['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    assert page.locator("figure.chart p.chart-note").get_attribute("data-best-seen") == "true"
    assert "not seen" not in page.locator("figure.chart").inner_text()

    # the report: the latest value is marked as a bound
    page.goto(f"{server}/patients/{patient['id']}/report")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    latest = page.locator("#latest tbody tr").first.locator("td").nth(2).inner_text()
    assert latest.endswith("or more: furthest point not seen"), latest


def test_reps_past_the_safe_maximum_are_flagged_on_the_session_page(page, server) -> None:
    """The elbow went past the PT's safe maximum (150°) in every rep of its last session: `romcam analyze` told the
    patient so, and the PT reads it on the session page too — each rep's note, and the set's facts."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Past Safe Example")
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    within = _session_document(patient["id"], today - timedelta(days=3),
                               [_set_document("elbow_active", 128.0, rx, 1, today - timedelta(days=3))])
    past = _session_document(patient["id"], today - timedelta(days=1),
                             [_set_document("elbow_active", 156.0, rx, 1, today - timedelta(days=1))])
    assert all(r["max_angle"] > 150 for r in past["sets"][0]["reps"])  # romcam's own analysis of the curve
    for doc in (within, past):
        assert api("POST", "/api/sessions", doc)[0] == 201

    page.goto(f"{server}/sessions/{past['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    rows = page.locator("table.reps tbody tr")
    assert rows.count() == 4
    for i in range(4):
        assert rows.nth(i).get_attribute("data-past-safe") == "max"
        assert "past the PT's safe maximum (150°)" in rows.nth(i).locator("td").nth(7).inner_text()
    note = page.locator("figure.chart p.chart-note").inner_text()
    assert "safe maximum 150° (went past it in repetitions 1, 2, 3, 4)" in note, note
    _screenshot(page, "dashboard-past-safe-session.png")
    # the patient page's list of sessions says it too, without opening the session
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    listed = page.locator(f"li[data-session-id='{past['id']}']").inner_text()
    assert listed.endswith("4 reps, best 156°, 4 past the PT's safe maximum"), listed
    assert "past the PT's safe" not in page.locator(f"li[data-session-id='{within['id']}']").inner_text()
    # a session within the limit says nothing of the kind
    page.goto(f"{server}/sessions/{within['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    assert "past the PT's safe" not in page.locator("figure.chart").inner_text()
    assert "safe maximum 150°." in page.locator("figure.chart p.chart-note").inner_text()


def test_a_set_measured_on_too_few_frames_a_second_says_so_on_the_session_page(page, server) -> None:
    """A camera the loop could not keep up with: the elbow's samples were stored half a second apart. The PT reads
    that its rep count and peaks rest on too few frames; a set measured 10 times a second says nothing of it."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Few Frames Example")
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    sparse, normal = (_session_document(patient["id"], today - timedelta(days=days),
                                        [_set_document("elbow_active", 128.0, rx, 1, today - timedelta(days=days),
                                                       step=step)])
                      for days, step in ((1, 0.5), (2, 0.1)))
    for doc in (sparse, normal):
        assert api("POST", "/api/sessions", doc)[0] == 201

    page.goto(f"{server}/sessions/{sparse['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    note = page.locator("figure.chart p.few-frames")
    expected = ("Measured on 2 pictures a second: too few to be sure of the rep count and the peaks "
                f"({MIN_COUNT_FPS:g} or more needed).")
    assert note.inner_text() == expected == too_few_frames_note(2.0) + "."
    _screenshot(page, "dashboard-few-frames-session.png")
    page.goto(f"{server}/sessions/{normal['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    assert page.locator("figure.chart p.few-frames").count() == 0
    assert "pictures a second" not in page.locator("figure.chart").inner_text()


def test_a_trend_point_measured_on_too_few_frames_is_hollow_says_why_and_raises_no_decline(page, server) -> None:
    """The elbow's last 3 sessions were measured twice a second (a loaded laptop), their best angles far below the
    128° before: uncertain, not a loss. Hollow on the chart, the legend and each tooltip say why — the last one
    also had its furthest point out of view, and says both —, no decline note, and the sessions list says it."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Few Frames Trend Example")
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    n, docs = 8, []
    for i in range(n):
        start = today - timedelta(days=2 * (n - i))
        sparse = i >= n - 3
        one = _set_document("elbow_active", 95.0 if sparse else 128.0, rx, 1, start, step=0.5 if sparse else 0.1,
                            hidden_beyond=85.0 if i == n - 1 else None)
        doc = _session_document(patient["id"], start, [one])
        assert api("POST", "/api/sessions", doc)[0] == 201
        docs.append(doc)

    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator("#alerts li.alert[data-status=open]").count() == 0
    canvas = "figure.chart[data-exercise=elbow_flexion] canvas"
    fills = page.eval_on_selector(canvas, """c => { const ch = Chart.getChart(c);
        return ch.data.datasets[0].data.map((_, i) => ch.getDatasetMeta(0).data[i].options.backgroundColor); }""")
    assert fills[-3:] == ["#ffffff"] * 3 and "#ffffff" not in fills[:-3], fills
    legend = page.eval_on_selector(canvas, "c => Chart.getChart(c).legend.legendItems.map(i => i.text)")
    said = "hollow marker: measured on too few frames a second, the best angle and rep count uncertain"
    assert said in legend, legend

    def tooltip(i: int) -> list[str]:
        return page.eval_on_selector(canvas, """(c, i) => { const ch = Chart.getChart(c);
            ch.tooltip.setActiveElements([{datasetIndex: 0, index: i}], {x: 0, y: 0}); ch.update();
            return ch.tooltip.body.flatMap(b => b.lines); }""", i)

    few_only = tooltip(n - 2)
    assert "measured on too few frames a second: best angle and rep count uncertain" in few_only, few_only
    assert not any("not seen" in line for line in few_only), few_only
    both = tooltip(n - 1)
    assert "measured on too few frames a second: best angle and rep count uncertain" in both, both
    assert "furthest point not seen: at least this far" in both, both
    summary = page.locator("figure.chart[data-exercise=elbow_flexion] ul.series-summary").inner_text()
    assert ("3 sessions measured on too few frames a second (hollow markers): the best angle and rep count "
            "uncertain; left out of the median (1 of them also with the furthest point not seen).") in summary, summary
    item = page.locator(f"li[data-session-id='{docs[-2]['id']}']").inner_text()
    assert "(measured on 2 pictures a second: rep count and peaks uncertain)" in item, item
    assert "pictures a second" not in page.locator(f"li[data-session-id='{docs[0]['id']}']").inner_text()
    _screenshot(page, "dashboard-few-frames-trend.png")

    # the report: the latest value says both its reasons; the medians column leaves the 3 out, as the alert does
    page.goto(f"{server}/patients/{patient['id']}/report")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")
    cells = page.locator("#latest tbody tr").first.locator("td")
    latest = cells.nth(2).inner_text()
    assert latest.endswith("or more: furthest point not seen; measured on too few frames a second"), latest
    medians = cells.nth(4).inner_text()
    assert re.match(r"12[6-9]° / ", medians), medians  # the last 3 counted are at the 128° before, not the 95°

def test_the_report_and_the_charts_show_the_safe_limit_and_the_reps_past_it(page, server) -> None:
    """The report (the PT's team meeting) and the patient page's trend chart show the safe limit each session was
    judged against — a dashed dark red line, labelled, with the same words in the text beside it — and mark each
    session with a rep past it (a red cross; said in words, with the count). A set saved with `romcam analyze
    --safe-max` and no prescription is judged against the limit it was given, and says where it came from."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Safe Report Example")  # safe maximum 150°
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    days = (4, 2, 1)
    within, past = (_session_document(patient["id"], today - timedelta(days=d),
                                      [_set_document("elbow_active", peak, rx, 1, today - timedelta(days=d))])
                    for d, peak in zip(days, (128.0, 156.0), strict=False))
    # the same elbow, analysed with --safe-max 135 and filed under no prescription (a PT trying a clip)
    given = _set_document("elbow_active", 140.0, rx, 1, today - timedelta(days=1))
    given.update(prescription_id=None, prescription_version=None, safe_max=135.0)
    tried = _session_document(patient["id"], today - timedelta(days=1), [given])
    for doc in (within, past, tried):
        assert api("POST", "/api/sessions", doc)[0] == 201
    n_past = sum(1 for r in past["sets"][0]["reps"] if r["max_angle"] > 150)
    n_tried = sum(1 for r in given["reps"] if r["max_angle"] > 135)
    assert (n_past, n_tried) == (4, 4)  # romcam's own analysis of the curves
    assert not any(r["max_angle"] > 150 for r in within["sets"][0]["reps"])
    pt_limit, given_limit = f"{whole_degrees(150.0)}°", f"{whole_degrees(135.0)}°"
    said = (rf"Safe limit: the safe maximum {given_limit} given to romcam analyze; 2 sessions with reps past it "
            rf"\(red cross\): \d+ \w+, {n_past} reps past the PT's safe maximum {pt_limit}; "
            rf"\d+ \w+, {n_tried} reps past the safe maximum {given_limit} given to romcam analyze\.")

    page.goto(f"{server}/patients/{patient['id']}/report")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")
    [row] = page.locator("#latest tbody tr").all()
    assert row.locator("td").nth(2).locator(".safe-note").inner_text() == (
        f"{n_tried} reps past the safe maximum {given_limit} given to romcam analyze")
    figure = page.locator("figure.chart[data-exercise=elbow_flexion]")
    assert figure.get_attribute("data-past-safe") == "2"
    note = figure.locator("p.safe-note").inner_text()
    assert re.fullmatch(f"Active, seated: {said}", note), note
    assert _ink(page, "figure.chart[data-exercise=elbow_flexion] canvas", (0xB0, 0x00, 0x20)) > 300  # line, crosses
    _screenshot(page, "dashboard-report-safe-limit.png")

    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")
    summary = page.locator("figure.chart[data-exercise=elbow_flexion] ul.series-summary .safe-note").inner_text()
    assert re.fullmatch(said, summary.strip()), summary
    assert _ink(page, "figure.chart[data-exercise=elbow_flexion] canvas", (0xB0, 0x00, 0x20)) > 300
    listed = page.locator(f"li[data-session-id='{tried['id']}']").inner_text()
    assert listed.endswith(f"{n_tried} past the safe maximum given to romcam analyze"), listed
    _screenshot(page, "dashboard-patient-safe-limit.png")

    page.goto(f"{server}/sessions/{tried['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    facts = page.locator("figure.chart p.chart-note").inner_text()
    assert (f"safe maximum {given_limit}, given to romcam analyze (went past it in repetitions 1, 2, 3, 4)"
            in facts), facts
    rows = page.locator("table.reps tbody tr")
    for i in range(rows.count()):
        assert rows.nth(i).get_attribute("data-past-safe") == "max"
        assert (f"past the safe maximum given to romcam analyze ({given_limit})"
                in rows.nth(i).locator("td").nth(7).inner_text())


def test_medians_of_fewer_sessions_than_the_rule_compares_say_so(page, server) -> None:
    """2 sessions at 128° then 3 at 100°: a drop far beyond the noise, but the change notes compare against at
    least 3 sessions, so no note. The report's medians column says why ("2 sessions: too few to compare"), and
    a patient with 1 session is not given a "median of the last 3 sessions" on the patient page."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Few Sessions Example")
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    for i, peak in enumerate([128.0, 128.0, 100.0, 100.0, 100.0]):
        start = today - timedelta(days=2 * (5 - i))
        doc = _session_document(patient["id"], start, [_set_document("elbow_active", peak, rx, 1, start)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/patients/{patient['id']}/report")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator("#alerts li.alert[data-status=open]").count() == 0
    medians = page.locator("#latest tbody tr").first.locator("td").nth(4).inner_text()
    assert medians == "100° / 128° (2 sessions: too few to compare, 3 needed)", medians

    single, rx1 = _patient_with_elbow_plan(api, "One Session Example")
    doc = _session_document(single["id"], today, [_set_document("elbow_active", 126.0, rx1, 1, today)])
    assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/patients/{single['id']}")
    page.wait_for_selector("#charts[data-ready=true]")
    summary = page.locator("figure.chart[data-exercise=elbow_flexion] ul.series-summary").inner_text()
    assert "latest 126°" in summary and "1 session shown" in summary, summary
    assert "median" not in summary, summary
    page.goto(f"{server}/patients/{single['id']}/report")
    page.wait_for_selector("#charts[data-ready=true]")
    assert page.locator("#latest tbody tr").first.locator("td").nth(4).inner_text() == "126° (1 session) / —"


def test_snoozing_the_alert_clears_the_badge(page, server, seeded) -> None:
    pid = seeded["patient"]["id"]
    page.goto(f"{server}/patients/{pid}")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    page.locator("#alerts li.alert[data-status=open] button", has_text="Snooze").click()
    page.wait_for_selector("#alerts li.alert[data-status=snoozed]")
    assert page.locator("#alert-badge").is_hidden()
    page.goto(server + "/")
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator(f"tr[data-patient-id='{pid}'] .badge-alert").count() == 0


def test_prescription_editor_versions_adds_ends_and_pauses(page, server, seeded) -> None:
    pid = seeded["patient"]["id"]
    elbow = seeded["rx"]["elbow_active"]["id"]
    page.goto(f"{server}/patients/{pid}")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    page.once("dialog", lambda d: d.accept())  # window.confirm when ending a prescription
    # not linked to a clinic: the plan is this dashboard's, with its controls and no "Your PT at … sets this plan"
    # (a linked laptop's plan is read-only: test_sync_browser)
    for shown in ("#new-prescription", "#pause-button", f"tr[data-prescription-id='{elbow}'] button:has-text('Edit')",
                  f"tr[data-prescription-id='{elbow}'] button:has-text('End')"):
        assert page.locator(shown).is_visible(), shown
    assert page.locator("#plan-managed").is_hidden()

    # edit → a new version; an inconsistent target is refused in the form, naming the fields
    page.locator(f"tr[data-prescription-id='{elbow}'] button", has_text="Edit").click()
    form = page.locator("#prescription-form")
    assert form.locator("select[name=exercise]").is_disabled()
    form.locator("input[name=target_min]").fill("140")
    form.locator("input[name=target_max]").fill("130")
    form.locator("#prescription-save").click()
    assert "Target from must be below target to" in form.locator(".form-error").inner_text()
    assert form.locator("input[name=target_min]").get_attribute("aria-invalid") == "true"
    form.locator("input[name=target_min]").fill("100")
    form.locator("#prescription-save").click()
    page.wait_for_selector("#prescription-dialog", state="hidden")
    page.wait_for_selector(f"tr[data-prescription-id='{elbow}'] >> text=v3")
    assert "100° to 130°" in page.locator(f"tr[data-prescription-id='{elbow}']").inner_text()

    # add a motion → a third chart (empty until the patient does it); then end it
    page.locator("#new-prescription").click()
    form.locator("select[name=exercise]").select_option("knee_flexion")
    form.locator("select[name=side]").select_option("left")
    form.locator("select[name=mode]").select_option("passive")
    form.locator("select[name=posture]").select_option("lying")
    form.locator("input[name=target_min]").fill("60")
    form.locator("input[name=target_max]").fill("100")
    form.locator("input[name=safe_max]").fill("110")
    form.locator("#prescription-save").click()
    page.wait_for_selector("figure.chart[data-exercise=knee_flexion][data-side=left]")
    page.wait_for_selector("#charts[data-ready=true]")
    page.wait_for_selector("body[data-loaded=true]")  # alerts, calendar, sessions too
    assert page.locator("#charts figure.chart").count() == 3
    assert page.locator("figure.chart[data-exercise=knee_flexion]").get_attribute("data-points") == "0"
    knee = page.locator("table.prescriptions tr[data-prescription-id]", has_text="Knee flexion")
    knee.locator("button", has_text="End").click()
    page.wait_for_selector("figure.chart[data-exercise=knee_flexion]", state="detached")
    assert page.locator("table.prescriptions tbody tr[data-prescription-id]").count() == 3

    # pause the plan (a hospital stay) and resume it
    page.locator("#pause-button").click()
    page.wait_for_selector("#paused-tag:visible")
    assert page.locator("#pause-button").inner_text() == "Resume the plan"
    # not linked to a clinic: the pause is this dashboard's, the button stays (a linked laptop's: test_sync_browser)
    assert page.locator("#pause-button").is_visible()
    assert page.locator("#plan-state-text").inner_text() == ("The plan is paused (for example, a hospital stay): "
                                                             "missed sessions are not flagged.")
    # the page is busy until the alerts and the calendar are read again (a press meanwhile is not taken)
    page.wait_for_selector("#pause-button:not([aria-busy])")
    page.locator("#pause-button").click()
    page.wait_for_selector("#paused-tag", state="hidden")


def _focused(page) -> str:  # type: ignore[no-untyped-def]
    """What has the keyboard's focus: "BUTTON#id Text", "LI[alert-id]", or "BODY" when nothing has."""
    return page.evaluate("""() => { const e = document.activeElement;
      if (!e || e === document.body) return "BODY";
      if (e.dataset.alertId) return `LI[${e.dataset.alertId}]`;
      const row = e.closest("tr[data-prescription-id]");
      return `${e.tagName}#${e.id}${row ? `[${row.dataset.prescriptionId}]` : ""} ${e.textContent.trim()}`; }""")


def test_the_plans_changes_keep_the_keyboards_place_and_say_what_they_did(page, server) -> None:
    """A PT on the keyboard (or a screen reader) edits a prescription, pauses the plan, snoozes a change to review
    and ends the prescription. Each change re-draws its part of the page; the keyboard's focus must not fall back to
    the top of the page (a screen reader then starts over, and hears nothing of whether the change took): it stays
    on the prescription edited, the pause button, the alert snoozed, or goes to "Add an exercise" once the row is
    gone — and the plan's status line says what was saved."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Keyboard Example")
    today = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    peaks = [128.0] * 5 + [128.0 - DECLINE_DEG] * 3  # a decline: one change to review, to snooze
    for i, peak in enumerate(peaks):
        start = today - timedelta(days=2 * (len(peaks) - 1 - i))
        doc = _session_document(patient["id"], start, [_set_document("elbow_active", peak, rx, 1, start)])
        assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    page.wait_for_selector("#charts[data-ready=true]")
    row = f"tr[data-prescription-id='{rx['id']}']"

    # edit: Enter on Edit, change the reps, Enter in the field saves
    page.locator(f"{row} button", has_text="Edit").focus()
    page.keyboard.press("Enter")
    reps = page.locator("#prescription-form input[name=reps]")
    reps.fill("12")
    reps.press("Enter")
    page.wait_for_selector("#prescription-dialog", state="hidden")
    page.locator(f"{row} td", has_text="12 reps").wait_for()
    page.locator("#plan-saved", has_text="version 2").wait_for()
    assert page.locator("#plan-saved").inner_text() == \
        "Saved Elbow flexion (left, active, seated): version 2, target 110° to 140°, safe max 150°, 12 reps, 3 a week."
    assert page.locator("#plan-saved").get_attribute("role") == "status"
    assert _focused(page) == f"BUTTON#[{rx['id']}] Edit"

    # pause the plan: the button keeps the focus (a disabled button would drop it) and says what it now does
    page.locator("#pause-button").focus()
    page.keyboard.press("Enter")
    page.locator("#pause-button", has_text="Resume the plan").wait_for()
    page.locator("#plan-saved", has_text="paused").wait_for()
    assert _focused(page) == "BUTTON#pause-button Resume the plan"

    # snooze the change to review: the focus goes to that alert, now snoozed
    [alert] = [a for a in api("GET", f"/api/patients/{patient['id']}/alerts")[1] if a["kind"] == "decline"]
    page.locator(f"#alerts li[data-alert-id='{alert['id']}'] button", has_text="Snooze").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#alerts li[data-alert-id='{alert['id']}'][data-status=snoozed]")
    assert _focused(page) == f"LI[{alert['id']}]"
    assert "Snoozed until" in page.evaluate("document.activeElement.textContent")

    # end it: its row goes, the focus goes to "Add an exercise"
    page.once("dialog", lambda d: d.accept())
    page.locator(f"{row} button", has_text="End").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(row, state="detached")
    page.locator("#plan-saved", has_text="Ended").wait_for()
    assert page.locator("#plan-saved").inner_text() == \
        "Ended Elbow flexion (left, active, seated): the patient is no longer asked to do it; its history is kept."
    assert _focused(page) == "BUTTON#new-prescription Add an exercise"


def test_a_session_dated_after_today_is_not_called_today(browser, server) -> None:
    """A laptop whose clock runs ahead dates its session in the clinic's future (the API takes up to a day ahead):
    on Saturday the PT read "Last session Sun, 29 Nov (today)". The day shown is the one stored; the word beside
    it must not contradict it, and says what to check."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Clock Ahead Example")
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=20)
    doc = _session_document(patient["id"], ahead, [_set_document("elbow_active", 125.0, rx, 1, ahead)], minutes=5)
    assert api("POST", "/api/sessions", doc)[0] == 201
    # a zone where 20 hours from now is already tomorrow (local time 04:00 or later)
    zone = "UTC" if datetime.now(UTC).hour >= 4 else "Asia/Tokyo"
    said = "dated after today: check the clock of the computer that recorded it"
    with checked_page(browser, server, timezone_id=zone) as page:
        page.goto(f"{server}/patients/{patient['id']}")
        page.wait_for_selector("body[data-loaded=true]")
        summary = page.locator("#patient-summary").inner_text()
        assert f"({said})" in summary and "(today)" not in summary, summary
        page.goto(f"{server}/")
        page.wait_for_selector("body[data-loaded=true]")
        row = page.locator(f"tr[data-patient-id='{patient['id']}']").inner_text()
        last_session = row.split("\t")[1]  # the list's "Last session" cell: the day, and under it how long ago
        assert last_session.endswith(f"\n{said}"), row


def test_last_session_is_the_last_that_measured_something(browser, server) -> None:
    """A session begun that measured nothing (nobody in view) is no session done: the PT read "Last session
    (yesterday)" beside "No session of the plan for 8 days". Both pages give the last session that measured
    something, and say the later ones that measured nothing beside it."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Empty Attempt Example")
    tried, tried_rx = _patient_with_elbow_plan(api, "Never Measured Example")
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    done, empty1, empty2 = (today - timedelta(days=d) for d in (8, 3, 1))
    for who, plan, start, hidden in ((patient, rx, done, None), (patient, rx, empty1, -1000.0),
                                     (patient, rx, empty2, -1000.0), (tried, tried_rx, empty1, -1000.0)):
        doc = _session_document(who["id"], start, [_set_document("elbow_active", 125.0, plan, 1, start,
                                                                 hidden_beyond=hidden)], minutes=2)
        assert api("POST", "/api/sessions", doc)[0] == 201

    def day(at: datetime) -> str:
        return f"{at:%a}, {at.day} {at:%b %Y}"

    with checked_page(browser, server, timezone_id="UTC") as page:
        page.goto(f"{server}/patients/{patient['id']}")
        page.wait_for_selector("body[data-loaded=true]")
        summary = page.locator("#patient-summary").inner_text()
        assert summary.startswith(f"Last session {day(done)} (8 days ago); 2 later sessions measured nothing, the "
                                  f"last begun {day(empty2)}. "), summary
        page.goto(f"{server}/patients/{tried['id']}")
        page.wait_for_selector("body[data-loaded=true]")
        summary = page.locator("#patient-summary").inner_text()
        assert summary.startswith(f"No session has measured anything yet: a session begun {day(empty1)} measured "
                                  "nothing (3 days ago). "), summary
        page.goto(f"{server}/")
        page.wait_for_selector("body[data-loaded=true]")
        cell = page.locator(f"tr[data-patient-id='{patient['id']}'] td").first.inner_text()
        assert cell == f"{day(done)}\n8 days ago\n2 later sessions measured nothing, the last begun {day(empty2)}"
        cell = page.locator(f"tr[data-patient-id='{tried['id']}'] td").first.inner_text()
        assert cell == f"Nothing measured yet\na session begun {day(empty1)} measured nothing"
        page.goto(f"{server}/patients/{patient['id']}/report")
        page.wait_for_selector("body[data-loaded=true]")
        report = page.locator("#report-summary").inner_text()
        assert report.startswith(f"Last session {day(done)}; 2 later sessions measured nothing, the last begun "
                                 f"{day(empty2)}. "), report


def test_the_first_exercise_added_updates_the_summary_and_the_calendar(page, server) -> None:
    """A PT who adds the first exercise on a new patient's page sees what a reload would show: the summary
    no longer says "Nothing prescribed yet." and the calendar counts the plan from today."""
    from playwright.sync_api import expect

    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"First plan {uuid.uuid4().hex[:4]}"})
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    assert "Nothing prescribed yet." in page.locator("#patient-summary").inner_text()
    before = page.locator("table.calendar td.week-total").last.inner_text()

    page.locator("#new-prescription").click()
    form = page.locator("#prescription-form")
    form.locator("select[name=exercise]").select_option("shoulder_abduction")
    form.locator("select[name=side]").select_option("left")
    form.locator("select[name=mode]").select_option("active")
    form.locator("select[name=posture]").select_option("standing")
    for name, value in (("target_min", 80), ("target_max", 140), ("safe_max", 170), ("reps", 3), ("hold_s", 0),
                        ("sessions_per_week", 3)):
        form.locator(f"input[name={name}]").fill(str(value))
    form.locator("#prescription-save").click()
    page.wait_for_selector("#prescription-dialog", state="hidden")
    page.wait_for_selector("table.prescriptions tr[data-prescription-id]")
    expect(page.locator("#patient-summary")).not_to_contain_text("Nothing prescribed", timeout=10_000)
    summary = page.locator("#patient-summary").inner_text()
    expect(page.locator("table.calendar td.week-total").last).not_to_have_text(before, timeout=10_000)
    week = page.locator("table.calendar td.week-total").last.inner_text()

    page.reload()
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator("#patient-summary").inner_text() == summary
    assert page.locator("table.calendar td.week-total").last.inner_text() == week


# ---- narrow windows: a PT on a tablet or a phone ----------------------------------------------------

# every table on a page, as laid out: the page's own width against the window's, each table's cells that
# lie outside the window, and the box that scrolls it sideways (if any) with its name and what it hides
_TABLE_LAYOUT = """() => {
  const cw = document.documentElement.clientWidth;
  const named = (n) => (n.getAttribute("aria-label") || (n.getAttribute("aria-labelledby") || "").split(/\\s+/)
    .map((id) => (document.getElementById(id) || {}).textContent || "").join(" ")).trim();
  const scroller = (n) => {
    for (let a = n.parentElement; a && a !== document.body; a = a.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(a).overflowX)) return a;
    }
    return null;
  };
  const tables = [...document.querySelectorAll("main table")].filter((t) => t.getClientRects().length).map((t) => {
    const cells = [...t.querySelectorAll("th, td")].filter((c) => c.getClientRects().length);
    const outside = (lo, hi) => cells.filter((c) => {
      const r = c.getBoundingClientRect();
      return r.left < lo - 0.5 || r.right > hi + 0.5;
    }).length;
    const out = { table: t.className, cells: cells.length, outsideWindow: outside(0, cw),
      fontSizes: cells.map((c) => parseFloat(getComputedStyle(c).fontSize)), box: null };
    const box = scroller(t);
    if (box) {
      const b = box.getBoundingClientRect();
      box.scrollLeft = 0;
      const hiddenAtStart = cells.filter((c) => c.getBoundingClientRect().left < b.left - 0.5).length;
      box.scrollLeft = box.scrollWidth;
      const hiddenAtEnd = cells.filter((c) => c.getBoundingClientRect().right > b.right + 0.5).length;
      box.scrollLeft = 0;
      out.box = { left: b.left, right: b.right, role: box.getAttribute("role"), tabindex: box.getAttribute("tabindex"),
        name: named(box), scrolls: box.scrollWidth > box.clientWidth, hiddenAtStart, hiddenAtEnd };
    }
    return out;
  });
  return { scrollWidth: document.documentElement.scrollWidth, clientWidth: cw, tables };
}"""


@pytest.mark.parametrize("width", [390, 768])  # a phone, a tablet held upright
def test_tables_fit_a_narrow_window_or_scroll_in_a_box_of_their_own(page, server, seeded, width) -> None:
    """On a tablet or a phone the page never scrolls sideways: every cell of every table is in the window, or
    in a box that scrolls sideways, which a keyboard reaches and a screen reader names. The type is as large
    as on a desktop."""
    pid = seeded["patient"]["id"]
    sets = len(seeded["sessions"][-1]["sets"])
    pages = [  # (address, drawn when these are, the tables it must have)
        ("/", ["#patients tbody tr"], ["patients"]),
        (f"/patients/{pid}", ["#charts[data-ready=true]", "#adherence table", "table.prescriptions"],
         ["calendar", "prescriptions"]),
        (f"/sessions/{seeded['sessions'][-1]['id']}", ["#sets[data-ready=true]"], ["reps"] * sets),
        (f"/patients/{pid}/report", ["#charts[data-ready=true]"], ["latest", "calendar"]),
    ]
    scrolled = 0
    for path, ready, expected in pages:
        layouts = []
        for viewport in (1280, width):  # a desktop's, then the narrow window's (opened at that width)
            page.set_viewport_size({"width": viewport, "height": 900})
            page.goto(server + path)
            for selector in ready:
                page.wait_for_selector(selector)
            layouts.append(page.evaluate(_TABLE_LAYOUT))
        desktop, narrow = layouts
        where = f"{path} at {width} px"
        assert sorted(t["table"] for t in narrow["tables"]) == sorted(expected), where
        assert narrow["scrollWidth"] <= narrow["clientWidth"], f"{where}: the page scrolls sideways"
        for big, small in zip(desktop["tables"], narrow["tables"], strict=True):
            assert small["fontSizes"] == big["fontSizes"], f"{where}: smaller type in {small['table']}"
            assert min(small["fontSizes"]) >= 15, f"{where}: {small['table']}"
            if not small["outsideWindow"]:
                continue  # every cell in view
            box = small["box"]
            assert box is not None, f"{where}: {small['outsideWindow']} cells of {small['table']} cut off"
            assert 0 <= box["left"] and box["right"] <= width, f"{where}: the box of {small['table']}: {box}"
            assert box["hiddenAtStart"] == box["hiddenAtEnd"] == 0, f"{where}: {small['table']}: {box}"
            assert (box["role"], box["tabindex"]) == ("region", "0") and box["name"], f"{where}: {box}"
        # a keyboard scrolls each box that needs it: focused (tabindex 0 puts it in the Tab order), the right
        # arrow moves it
        boxes = page.locator("main .table-scroll")
        for i in range(boxes.count()):
            box = boxes.nth(i)
            if not box.evaluate("b => b.scrollWidth > b.clientWidth"):
                continue
            scrolled += 1
            box.focus()
            assert box.evaluate("b => document.activeElement === b")
            page.keyboard.press("ArrowRight")
            page.wait_for_function("b => b.scrollLeft > 0", arg=box.element_handle())
        _screenshot(page, f"dashboard-{width}px-{path.strip('/').replace('/', '-') or 'patients'}.png")
    if width == 390:  # a phone: the patient list, the plan, the calendars, the reps and the report's values
        assert scrolled >= 4, "on a phone the wide tables must scroll in their boxes"


def test_a_change_to_review_on_a_motion_not_in_the_plan_has_its_chart(page, server) -> None:
    """The right shoulder's prescription was ended, and the left shoulder was never prescribed (sessions
    recorded without a plan): both lost 28° in their last 3 sessions, so each has a decline note, and each
    its chart with every session's best angle, said to be outside the current plan — on the patient page
    and in the report. A snoozed note keeps its chart on the patient page (the note stays there)."""
    api = Api(server)
    patient, elbow_rx = _patient_with_elbow_plan(api, "Ended Plan Example")
    exercise, side, mode, posture, lo, hi, safe, per_week = PRESCRIPTIONS["shoulder_active"]
    _, shoulder_rx = api("POST", f"/api/patients/{patient['id']}/prescriptions", {
        "exercise": exercise, "side": side, "mode": mode, "posture": posture, "target_min": lo, "target_max": hi,
        "safe_max": safe, "reps": 8, "hold_s": 2, "sessions_per_week": per_week, "max_reps": None,
        "max_minutes": 20, "notes": ""})
    no_plan = {"id": None, "target_min": lo}
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    n = 8
    peaks: dict[str, list[float]] = {"right": [], "left": []}
    for i in range(n):
        start = today - timedelta(days=2 * (n - i))
        peak = 150.0 - (DECLINE_DEG if i >= n - 3 else 0.0) + (i % 2)
        right = _set_document("shoulder_active", peak, shoulder_rx, 1, start)
        left = _set_document("shoulder_active", peak - 5.0, no_plan, 1, start + timedelta(minutes=4))
        left.update(side="left", prescription_id=None, prescription_version=None)
        elbow = _set_document("elbow_active", 128.0, elbow_rx, 1, start + timedelta(minutes=8))
        doc = _session_document(patient["id"], start, [right, left, elbow], minutes=15)
        assert api("POST", "/api/sessions", doc)[0] == 201
        peaks["right"].append(right["max_angle"])
        peaks["left"].append(left["max_angle"])
    assert api("DELETE", f"/api/prescriptions/{shoulder_rx['id']}")[0] == 204  # the PT ended it

    def check_charts() -> None:
        page.goto(f"{server}/patients/{patient['id']}")
        page.wait_for_selector("#charts[data-ready=true]")
        alerts = page.locator("#alerts li.alert[data-kind=decline]")
        assert sorted(alerts.evaluate_all("items => items.map(a => a.dataset.side)")) == ["left", "right"]
        assert page.locator("#charts figure.chart").count() == 3, "the elbow's, and one per shoulder with a note"
        elbow_chart = page.locator("figure.chart[data-exercise=elbow_flexion][data-side=left]")
        assert elbow_chart.get_attribute("data-in-plan") == "true"
        assert elbow_chart.locator(".plan-note").count() == 0
        for chart_side in ("right", "left"):
            selector = f"figure.chart[data-exercise=shoulder_flexion][data-side={chart_side}]"
            fig = page.locator(selector)
            assert fig.get_attribute("data-in-plan") == "false"
            assert "(not in the current plan)" in fig.locator("h3").inner_text()
            why = {"right": "its prescription was ended", "left": "its sessions were recorded without a plan"}
            assert fig.locator(".plan-note").inner_text() == (
                f"Not in the current plan: {why[chart_side]}. Shown for the change to review above.")
            assert json.loads(fig.get_attribute("data-series")) == [
                {"mode": "active", "posture": "standing", "points": n, "not_seen": 0, "too_few_frames": 0}]
            drawn = page.eval_on_selector(f"{selector} canvas",
                                          "c => Chart.getChart(c).data.datasets.map(d => d.data.map(p => p.y))")
            assert drawn == [peaks[chart_side]], chart_side
            assert drawn[0][-1] < drawn[0][0] - 20  # the decline the note speaks of, on the chart
            summary = fig.locator("ul.series-summary").inner_text()
            assert "not in the current plan" in summary, summary

    check_charts()
    # the report too: a chart and a row of latest values for each, marked
    page.goto(f"{server}/patients/{patient['id']}/report")
    page.wait_for_selector("#charts[data-ready=true]")
    assert page.locator("#charts figure.chart").count() == 3
    for chart_side in ("right", "left"):
        fig = page.locator(f"figure.chart[data-exercise=shoulder_flexion][data-side={chart_side}]")
        assert fig.get_attribute("data-in-plan") == "false" and int(fig.get_attribute("data-points")) == n
        assert fig.locator(".plan-note").inner_text().startswith("Not in the current plan: its ")
        row = page.locator("#latest tbody tr", has_text=f"Shoulder flexion, {chart_side} (not in the current plan)")
        latest = row.locator("td").nth(2).inner_text().split("\n")
        assert latest[0] == f"{whole_degrees(peaks[chart_side][-1])}°"
        # the left's reps, judged against the 120° given to romcam analyze, peaked near 118°: said under the angle
        assert latest[1:] == ([] if chart_side == "right" else [
            "4 of 4 reps short of the target 120° given to romcam analyze (stopped below 120°)"]), latest
    assert page.locator("#latest tbody tr").count() == 3

    page.goto(f"{server}/patients/{patient['id']}")
    right_alert = page.locator("#alerts li.alert[data-kind=decline][data-side=right]").get_attribute("data-alert-id")
    assert api("POST", f"/api/alerts/{right_alert}/snooze", {"days": 7})[0] == 200
    check_charts()
    assert page.locator("#alerts li.alert[data-side=right]").get_attribute("data-status") == "snoozed"
    _screenshot(page, "dashboard-not-in-plan.png")


# ---- accessibility --------------------------------------------------------------------------------------

def test_keyboard_focus_is_seen_on_the_white_page_and_in_the_dark_header(page, server, seeded) -> None:
    """WCAG 1.4.11: what shows the focused control must stand out 3:1 from what it sits on. Measured on the
    computed styles of a control reached with Tab: the ring on the white page, its halo in the dark header."""
    page.goto(f"{server}/")
    page.wait_for_selector("a.patient-link")

    def ring(selector: str) -> dict:
        page.locator(selector).first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # reached with the keyboard: :focus-visible applies
        return page.eval_on_selector(selector, """(e) => { const cs = getComputedStyle(e);
            let n = e.parentElement, bg = "rgba(0, 0, 0, 0)";
            while (n && /rgba\\(.*, 0\\)$/.test(bg)) { bg = getComputedStyle(n).backgroundColor; n = n.parentElement; }
            if (/rgba\\(.*, 0\\)$/.test(bg)) bg = "rgb(255, 255, 255)";
            const halo = (cs.boxShadow.match(/rgba?\\([^)]*\\)/) || [null])[0];
            return { focused: document.activeElement === e, style: cs.outlineStyle, width: parseFloat(cs.outlineWidth),
                     outline: cs.outlineColor, halo, behind: bg }; }""")

    on_page = ring("a.patient-link")
    assert on_page["focused"] and on_page["style"] == "solid" and on_page["width"] >= 2, on_page
    assert contrast_ratio(on_page["outline"], on_page["behind"]) >= 3, on_page
    in_header = ring("header.site a.brand")
    assert in_header["focused"] and in_header["halo"], in_header
    assert contrast_ratio(in_header["halo"], in_header["behind"]) >= 3, in_header


def test_charts_do_not_animate_for_a_reader_who_asked_for_less_motion(browser, server, seeded) -> None:
    pid = seeded["patient"]["id"]
    for reduced, animates in (("reduce", False), ("no-preference", True)):
        with checked_page(browser, server, reduced_motion=reduced) as pg:
            pg.goto(f"{server}/patients/{pid}")
            pg.wait_for_selector("#charts[data-ready=true]")
            got = pg.eval_on_selector_all("#charts canvas", """(cs) => cs.map((c) => {
                const a = Chart.getChart(c).config.options.animation; return a !== false; })""")
            assert got and all(a == animates for a in got), (reduced, got)


def test_the_safe_minimum_is_asked_for_where_it_applies_checked_and_drawn(browser, server) -> None:
    """A motion that works the low end (seated knee extension) has a safe minimum in the form (the elbow's,
    which works the high end, has none); one above the target's bottom is refused in the form, one beyond what
    the knee can do by the server, each naming the field; saved, it is in the plan, in each version, and on
    the session page's chart as a red line."""
    with checked_page(browser, server, allow=("status of 422",)) as page:  # the server's 422 below, on purpose
        _safe_minimum_in_the_dashboard(page, server)


def _safe_minimum_in_the_dashboard(page, server: str) -> None:  # type: ignore[no-untyped-def]
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Safe Min {uuid.uuid4().hex[:4]}"})
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    page.locator("#new-prescription").click()
    form = page.locator("#prescription-form")
    field = page.locator("#safe-min-field")
    form.locator("select[name=exercise]").select_option("elbow_flexion")
    assert field.is_hidden()
    assert "safe maximum guards the other end" not in page.locator("#normal-hint").inner_text()
    form.locator("select[name=exercise]").select_option("knee_extension")
    assert field.is_visible()
    # the safe maximum of an exercise that works the low end guards where each rep starts: said, with what
    # a small one would do (a PT's 20° here would make the coach say stop at every rest)
    assert "safe maximum guards the other end" in page.locator("#normal-hint").inner_text()
    assert "stop at every rest" in page.locator("#normal-hint").inner_text()
    form.locator("select[name=side]").select_option("left")
    for name, value in (("target_min", 5), ("target_max", 40), ("safe_max", 90), ("safe_min", 10), ("reps", 8),
                        ("hold_s", 0), ("sessions_per_week", 3)):
        form.locator(f"input[name={name}]").fill(str(value))
    form.locator("#prescription-save").click()
    assert "The safe minimum must be at or below the bottom of the target." in form.locator(".form-error").inner_text()
    assert form.locator("input[name=safe_min]").get_attribute("aria-invalid") == "true"
    form.locator("input[name=safe_min]").fill("-30")  # the form lets it through; the knee reads -25° at most
    form.locator("#prescription-save").click()
    page.wait_for_selector("#prescription-form .form-error:has-text('Safe minimum:')")
    error = form.locator(".form-error").inner_text()
    assert "-30.0° is beyond what the knee can do (-25 to 165°" in error, error
    assert form.locator("input[name=safe_min]").get_attribute("aria-invalid") == "true"
    form.locator("input[name=safe_min]").fill("0")
    form.locator("#prescription-save").click()
    page.wait_for_selector("#prescription-dialog", state="hidden")
    row = page.locator("table.prescriptions tr[data-prescription-id]", has_text="Knee extension")
    assert "min 0°, max 90°" in row.inner_text()
    _, [rx] = api("GET", f"/api/patients/{patient['id']}/prescriptions")
    assert (rx["safe_min"], rx["safe_max"], rx["version"]) == (0, 90, 1)

    # an edit shows the limit and keeps it, changed: version 2; the history lists both
    row.locator("button", has_text="Edit").click()
    assert field.is_visible() and form.locator("input[name=safe_min]").input_value() == "0"
    form.locator("input[name=safe_min]").fill("-3")
    form.locator("#prescription-save").click()
    page.wait_for_selector("#prescription-dialog", state="hidden")
    page.wait_for_selector(f"tr[data-prescription-id='{rx['id']}'] >> text=v2")
    page.locator(f"tr[data-prescription-id='{rx['id']}'] button", has_text="History").click()
    page.wait_for_selector("ol.versions li >> nth=1")
    versions = page.locator("ol.versions li").all_inner_texts()
    assert "safe min 0°, max 90°" in versions[0] and "safe min −3°, max 90°" in versions[1], versions  # a real minus

    # a session that followed version 2: its chart draws the safe minimum, its note says it
    motion = get_motion("knee_extension")
    t = np.arange(0, 26.0, 0.1)
    angle = 80 - 75 * (1 - np.cos(2 * np.pi * np.clip(t - 1.0, 0, 24.0) / 6.0)) / 2  # 80° bent → 5°, 4 reps
    samples = [Sample(index=i, t=float(ti), angle=float(a), confidence=0.9, view_ok=True, view_error=0.0, detail=None)
               for i, (ti, a) in enumerate(zip(t, angle, strict=True))]
    start = datetime.now(UTC) - timedelta(days=1)
    one = summarize(motion, "left", samples, fps=10.0, video="synthetic (browser test)", frames=len(t), target=40.0,
                    model="pose_landmarker_full.task").to_document()
    one.update(frames_with_subject=len(t), mode="active", posture="seated", prescription_id=rx["id"],
               prescription_version=2, started_at=start.isoformat())
    doc = _session_document(patient["id"], start, [one])
    assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/sessions/{doc['id']}")
    page.wait_for_selector("#sets[data-ready=true]")
    note = page.locator("figure.chart p.chart-note").inner_text()
    assert "safe maximum 90°" in note and "safe minimum −3°" in note, note
    lines = page.eval_on_selector("figure.chart canvas", """c => Chart.getChart(c).options.plugins.romcamOverlay.lines
        .map(l => [l.y, l.label, l.color])""")
    assert [-3, "safe min −3°", "#B00020"] in lines and [90, "safe max 90°", "#B00020"] in lines, lines
    _screenshot(page, "dashboard-safe-min-session.png")


def test_the_exercise_list_names_each_motion_once_as_the_catalog_does(page, server) -> None:
    """The prescription editor's exercise list: each motion by the catalog's own display name, an
    experimental one flagged once ("Neck rotation (experimental)", not "… (experimental) (experimental)")."""
    from romcam.catalog import default_catalog

    _, patient = Api(server)("POST", "/api/patients", {"name": f"Exercise list {uuid.uuid4().hex[:4]}"})
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    page.locator("#new-prescription").click()
    options = page.locator("#prescription-form select[name=exercise] option")
    shown = dict(zip(options.evaluate_all("os => os.map((o) => o.value)"), options.all_inner_texts(), strict=True))
    expected = {m.id: m.display_name for m in default_catalog()}
    assert shown == expected
    experimental = [text for mid, text in shown.items() if get_motion(mid).experimental]
    assert experimental and all(text.count("(experimental)") == 1 for text in experimental), experimental


def test_no_device_token_is_offered_for_this_computers_own_patient(page, server) -> None:
    """The server's own patient ("Me", the live coach's) gets no device token (the API refuses one, naming
    "POST /api/patients"): their page must not offer the form, while a patient added on the dashboard's does."""
    from playwright.sync_api import expect

    api = Api(server)
    _, patients = api("GET", "/api/patients")
    me = next(p for p in patients if p["is_local"])  # type: ignore[union-attr]
    _, other = api("POST", "/api/patients", {"name": f"Clinic patient {uuid.uuid4().hex[:4]}"})
    page.goto(f"{server}/patients/{other['id']}")
    expect(page.locator("#devices-section")).to_be_visible()
    page.goto(f"{server}/patients/{me['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    # decided: shown, or hidden on purpose
    page.wait_for_selector("#devices-section[data-ready=true], #devices-section:not([hidden])", state="attached")
    expect(page.locator("#devices-section")).to_be_hidden()
    assert "Create a device token" not in page.locator("body").inner_text()


def test_the_laptop_has_no_accounts_page_and_says_where_they_are(browser, server) -> None:
    """On the laptop (local mode) there are no accounts: no page links the Accounts page, and its address says
    so — they are kept on the clinic server — instead of a bare 403."""
    from playwright.sync_api import expect

    api = Api(server)
    _, patients = api("GET", "/api/patients")
    me = next(p for p in patients if p["is_local"])  # type: ignore[union-attr]
    # chromium logs the page's 404 as a console error
    with checked_page(browser, server, allow=("status of 404 (Not Found)",)) as page:
        for path in ("/", f"/patients/{me['id']}"):
            page.goto(server + path)
            page.wait_for_selector("body[data-loaded=true]")
            expect(page.locator("a[href='/accounts']")).to_have_count(0)
            expect(page.locator("#accounts-link")).to_have_count(0)
        response = page.goto(server + "/accounts")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("No accounts on this laptop")
        expect(page.locator("main")).to_contain_text("Accounts are kept on the clinic server; this laptop has none.")
        expect(page.locator("header.site nav a[href='/']")).to_be_visible()  # the way back


def test_a_plan_edit_re_reads_the_alerts(page, server) -> None:
    """The PT raises the sessions a week from 3 to 7: a session 3 days ago is now too long ago (more than 2 days),
    and the patient page's alerts say so at once, without a reload; back to 3 the note goes. Pausing mutes it,
    and resuming the plan counts from the resume (nothing flagged)."""
    api = Api(server)
    patient, rx = _patient_with_elbow_plan(api, "Plan Edit Alerts Example")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    doc = _session_document(patient["id"], start, [_set_document("elbow_active", 128.0, rx, 1, start)])
    assert api("POST", "/api/sessions", doc)[0] == 201
    page.goto(f"{server}/patients/{patient['id']}")
    page.wait_for_selector("body[data-loaded=true]")
    missed = "#alerts li[data-kind=missed_sessions]"
    assert page.locator(missed).count() == 0
    assert page.locator("#alerts li.empty").count() == 1
    row = f"tr[data-prescription-id='{rx['id']}']"

    def per_week(n: int) -> None:
        page.locator(f"{row} button", has_text="Edit").click()
        page.locator("#prescription-form input[name=sessions_per_week]").fill(str(n))
        page.locator("#prescription-save").click()
        page.wait_for_selector("#prescription-dialog", state="hidden")
        page.locator("#plan-saved", has_text=f"{n} a week").wait_for()

    per_week(7)
    page.wait_for_selector(missed)
    message = page.locator(f"{missed} .alert-message").inner_text()
    assert message.startswith("No session of the plan for 3 days") and "the plan asks for 7 a week" in message, message
    assert "this note appears after 2.0 days without one" in message, message
    assert page.locator("#alert-badge").get_attribute("data-open-alerts") == "1"
    per_week(3)
    page.wait_for_selector(missed, state="detached")
    assert page.locator("#alert-badge").get_attribute("data-open-alerts") == "0"
    per_week(7)
    page.wait_for_selector(missed)
    page.locator("#pause-button").click()
    page.locator("#pause-button", has_text="Resume the plan").wait_for()
    page.wait_for_selector(missed, state="detached")
    page.wait_for_selector("#pause-button:not([aria-busy])")  # the calendar read again too: a press is taken
    page.locator("#pause-button").click()
    page.locator("#pause-button", has_text="Pause the plan").wait_for()
    page.locator("#plan-saved", has_text="active again").wait_for()
    assert page.locator(missed).count() == 0  # resumed just now: the gap counts from the resume
    assert [a["kind"] for a in api("GET", f"/api/patients/{patient['id']}/alerts")[1]] == []
