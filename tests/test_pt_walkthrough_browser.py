"""The PT's walk through one patient, as README.md tells it, in a real browser (Debian's chromium) against a real
``romcam serve`` on SQLite: a plan made today, and a session measured by ``romcam analyze --save`` (real
MediaPipe on a rendered clip) — the way a session recorded without the plan reaches the dashboard.

For the same set the patient page, the printable report, the CSV and the FHIR export must agree; the report
must give the target the plan holds now, as the patient page does; and the session calendar must not read the
weeks before the plan as weeks of missed sessions (adherence counts from the plan's start).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path

import cv2
from conftest import DEMO_SPEC
from helpers import ARTIFACTS, offline_page, require_browser, romcam_serve

from romcam.degrees import whole_degrees  # the page's Math.round (half up), not Python's round

RX = {"exercise": DEMO_SPEC.exercise, "side": DEMO_SPEC.side, "mode": "active", "posture": "standing",
      "target_min": 90, "target_max": 150, "safe_max": 165, "reps": 5, "hold_s": 1, "sessions_per_week": 3}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_report_calendar_and_exports_agree_with_the_patient_page(demo_clip: Path, tmp_path: Path) -> None:
    require_browser()
    db = f"sqlite:///{tmp_path / 'romcam.db'}"
    with romcam_serve(tmp_path, "--no-live", ready="/healthz") as (port, _proc):
        base = f"http://127.0.0.1:{port}"
        (patient,) = json.loads(_get(f"{base}/api/patients"))
        pid = patient["id"]
        rx = _post(f"{base}/api/patients/{pid}/prescriptions", RX)
        # analyze --save dates the session by when it ended: now less the clip's length. A session begun before
        # the PT made the plan is not the plan's (the calendar and the figure alike): let the clip's length pass
        # since the plan was made, as it would have for a patient who exercised after it
        capture = cv2.VideoCapture(str(demo_clip))
        length_s = capture.get(cv2.CAP_PROP_FRAME_COUNT) / capture.get(cv2.CAP_PROP_FPS)
        capture.release()
        time.sleep(math.ceil(length_s) + 1.0)
        done = subprocess.run([sys.executable, "-m", "romcam.cli", "analyze", str(demo_clip), "--exercise",
                               DEMO_SPEC.exercise, "--side", DEMO_SPEC.side, "--save", "--db", db],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]

        (session,) = json.loads(_get(f"{base}/api/patients/{pid}/sessions"))
        (brief,) = session["sets"]
        best = brief["best_angle"]
        assert brief["mode"] == "active" and brief["reps_full"] >= 2
        rows = list(csv.DictReader(io.StringIO(_get(f"{base}/api/patients/{pid}/export.csv").decode())))
        assert rows and {r["set_id"] for r in rows} == {brief["id"]}
        assert max(float(r["max_angle_deg"]) for r in rows) == best
        assert {r["mode"] for r in rows} == {"active"} and {r["session_started_at"] for r in rows} == {
            datetime.fromisoformat(session["started_at"].replace("Z", "+00:00")).isoformat()}
        fhir = json.loads(_get(f"{base}/api/patients/{pid}/export.fhir.json"))
        (obs,) = [e["resource"] for e in fhir["entry"]]
        assert obs["valueQuantity"]["value"] == best and obs["method"]["coding"][0]["code"] == "active"
        assert obs["effectiveDateTime"] == rows[0]["set_started_at"]

        problems: list[str] = []
        with offline_page(base, problems, width=1366, height=900) as pg:
            pg.goto(f"{base}/patients/{pid}")
            pg.wait_for_selector("body[data-loaded=true]")
            summary = pg.locator("ul.series-summary li").first
            summary.wait_for(state="visible")
            text = summary.inner_text()
            assert f"latest {whole_degrees(best)}°" in text
            assert f"target now 90° to 150° (plan v{rx['version']})" in text
            patient_weeks = _week_totals(pg)

            # the session page: how long it lasted, in words a PT trusts (a 14 s clip is not "0 minutes")
            pg.goto(f"{base}/sessions/{session['id']}")
            pg.wait_for_selector("body[data-loaded=true]")
            lasted = (datetime.fromisoformat(session["ended_at"].replace("Z", "+00:00"))
                      - datetime.fromisoformat(session["started_at"].replace("Z", "+00:00"))).total_seconds()
            assert 0 < lasted < 60
            assert pg.locator("#session-summary").inner_text().startswith(f"{math.floor(lasted + 0.5)} s · completed")

            pg.goto(f"{base}/patients/{pid}/report")
            pg.wait_for_selector("#charts[data-ready=true]")
            pg.wait_for_selector("body[data-loaded=true]")
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "pt_walkthrough_report.png"), full_page=True)
            headers = [h.inner_text() for h in pg.locator("#latest thead th").all()]
            cells = [c.inner_text() for c in pg.locator("#latest tbody tr").first.locator("td").all()]
            row = dict(zip(headers, cells, strict=True))
            assert row["Latest best angle"] == f"{whole_degrees(best)}°"
            assert row["Mode, posture"] == "Active, standing"
            # the target the plan holds now — the patient page's — though this session followed none
            assert row["Target now"] == f"90–150° (plan v{rx['version']})", row
            report_weeks = _week_totals(pg)
        assert problems == []

    # the calendar: weeks before the plan asked for nothing; the plan's first week for its days only
    today = date.today()
    assert patient_weeks == report_weeks
    *before, this_week = report_weeks
    assert before and all(t == "0 (before the plan)" for t in before), report_weeks
    days_in_plan = 7 - today.weekday()  # today (the plan's first day) to Sunday
    # 3 a week for those days, in whole sessions (a PT reads sessions: never "1 / 0.9"), at least 1
    asked = {7: 3, 6: 3, 5: 2, 4: 2, 3: 1, 2: 1, 1: 1}[days_in_plan]
    expected = "1 / 3" if days_in_plan == 7 else f"1 / {asked} (plan started mid-week)"
    assert this_week == expected, report_weeks


def _week_totals(pg) -> list[str]:  # type: ignore[no-untyped-def]
    """The calendar's "Done / planned" column, oldest week first."""
    pg.wait_for_selector("table.calendar td.week-total")
    return [re.sub(r"\s+", " ", c.inner_text()).strip() for c in pg.locator("table.calendar td.week-total").all()]
