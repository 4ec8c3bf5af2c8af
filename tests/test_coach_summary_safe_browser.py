"""The coaching page's end-of-session summary says when a movement went past the PT's safe maximum, for an
exercise that works the low end too (a seated knee extension, which rests bent: its safe maximum guards
where each repetition starts and ends), in a real browser (Debian's chromium, Playwright) against a real
``romcam serve``.

The sessions are stored in the server's real database (the service's ingest, filed under the PT's
prescriptions: target 0°-10°, safe maximum 100°), and the page reads them back from ``GET
/api/sessions/{id}`` as it does after a live session; only the live WebSocket is the test's, to say the
session is done. A bend past the safe maximum counts whether it was within a repetition (resting bent
between two) or outside every repetition (before the first): the set's own extremes are what the limit
is checked against.

Without /usr/bin/chromium or the playwright package the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import offline_page, require_browser, romcam_serve

STARTUP_S = 120
SAFE_MAX = 100
BAND = {"exercise": "knee_extension", "side": "left", "posture": "seated", "target_min": 0, "target_max": 10,
        "safe_max": SAFE_MAX, "reps": 2, "hold_s": 0, "sessions_per_week": 3, "notes": ""}
FPS = 10.0


def _knee_set(*, rest_before: float, rest_between: float) -> dict:
    """A seated knee extension set, as the recorder stores one: bent to ``rest_before``° before the first
    repetition, then two repetitions from about 90° down to 5° and back, resting bent to ``rest_between``°
    between them. Samples every 0.1 s; each rep's extremes are those of its samples from the rest before
    to the rest after (romcam.reps)."""
    shape = [(0.0, 90.0), (0.5, rest_before), (1.0, 90.0), (2.0, 90.0), (3.0, 5.0), (4.0, rest_between),
             (5.0, 5.0), (6.0, 90.0), (7.0, 90.0)]
    t = [round(i / FPS, 3) for i in range(int(7.0 * FPS) + 1)]
    angle = [round(float(_interp(x, shape)), 1) for x in t]

    def rep(start: float, end: float, peak: float) -> dict:
        inside = [a for x, a in zip(t, angle, strict=True) if start <= x <= end]
        return {"start": start, "peak": peak, "end": end, "max_angle": max(inside), "min_angle": min(inside),
                "hold_s": 0.0, "partial": False, "below_target": False}

    return {"schema": "romcam.analysis/1", "exercise": "knee_extension", "side": "left", "posture": "seated",
            "fps": FPS, "frames": len(t), "view_ok_fraction": 1.0,
            "samples": [{"t": x, "angle": a} for x, a in zip(t, angle, strict=True)],
            "reps": [rep(2.0, 4.0, 3.0), rep(4.0, 6.0, 5.0)], "max_angle": max(angle), "min_angle": min(angle)}


def _interp(x: float, points: list[tuple[float, float]]) -> float:
    import numpy as np

    return float(np.interp(x, [p[0] for p in points], [p[1] for p in points]))


# mode, the bend before the first repetition, the rest between the two, the summary's line about the limit
CASES = {
    # the patient rested bent past the safe maximum between two repetitions (in a repetition's span)
    "active-between-reps": ("active", 90.0, 108.0, "Once you went past your safe limit of 100°: next time, "
                            "bend it back no further than 100° between repetitions."),
    # the caregiver bent the patient's knee past it before the first repetition (in no repetition's span)
    "passive-before-the-first": ("passive", 106.0, 90.0, "Once the movement went past the PT's safe maximum of "
                                 "100°: next time, bend it back no further than 100° between repetitions."),
    # within the limits: no word of them
    "active-within": ("active", 95.0, 96.0, None),
}


@pytest.fixture(scope="module")
def server(demo_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server whose database holds the PT's two knee extension prescriptions (active and passive) and
    one stored session per case, filed under the prescription of its mode. Yields (URL, case → session id)."""
    from romcam.session_doc import from_analysis
    from romcam.store import service
    from romcam.store.db import Store

    require_browser()
    tmp = tmp_path_factory.mktemp("coach-summary-safe")
    store = Store(f"sqlite:///{tmp / 'romcam.db'}")  # the database romcam_serve opens
    sessions: dict[str, str] = {}
    try:
        with store.session() as db:
            patient = service.get_patient(db, store.local_patient_id)
            rx = {mode: service.create_prescription(db, patient, BAND | {"mode": mode}).id
                  for mode in ("active", "passive")}
            started = datetime.now(UTC) - timedelta(hours=1)
            for case, (mode, before, between, _) in CASES.items():
                doc = from_analysis(_knee_set(rest_before=before, rest_between=between), patient_id=patient.id,
                                    mode=mode, posture="seated", prescription_id=rx[mode], prescription_version=1,
                                    started_at=started, session_id=uuid.uuid4())
                sessions[case] = str(service.ingest_session(db, doc)[0])
    finally:
        store.close()
    with romcam_serve(tmp, "--source", str(demo_clip), timeout=STARTUP_S) as (port, _):
        yield f"http://127.0.0.1:{port}", sessions


@pytest.mark.parametrize("case", list(CASES))
def test_the_summary_says_a_knee_extension_went_past_the_safe_maximum(
        server: tuple[str, dict[str, str]], problems: list[str], case: str) -> None:
    url, sessions = server
    mode, _, _, said = CASES[case]
    routes: list = []  # the page's /live/ws, answered here: it says the stored session is done
    with offline_page(url, problems) as pg:
        pg.route_web_socket(re.compile(r".*/live/ws$"), lambda ws: routes.append(ws))
        pg.goto(url + "/coach", wait_until="domcontentloaded")
        pg.wait_for_selector("body[data-ready=true]")
        for _ in range(200):
            if routes:
                break
            pg.wait_for_timeout(100)
        assert routes, "the page opened no /live/ws"
        routes[-1].send(json.dumps({"type": "status", "state": "done", "started": True,
                                    "session_id": sessions[case]}))
        pg.wait_for_selector("#end:not([hidden])")
        pg.wait_for_selector("#summary li")
        lines = pg.locator("#summary li .sum-line").all_inner_texts()
    assert any(("The patient's best: 5°" if mode == "passive" else "Your best: 5°") in x for x in lines), lines
    limit = [x for x in lines if "safe" in x]
    if said is None:
        assert not limit, lines
    else:
        assert limit == [said], lines
