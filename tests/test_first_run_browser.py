"""`make run` as a patient meets it: a plain `romcam serve` on a machine with no camera (this one has none),
the address it prints, and what a real browser (Debian's chromium) shows there.

The patient follows the line the server prints. It must name the coach's page, and the bare address (the
PT's dashboard) must lead to the coach too, or the patient is left in front of a patient list.
"""

from __future__ import annotations

import re
from pathlib import Path

from helpers import ARTIFACTS, offline_page, require_browser, romcam_serve, start_and_finish

STARTUP_S = 180.0  # the demo clip is rendered on first use


def test_plain_serve_without_a_camera_prints_the_coach_and_leads_the_patient_there(tmp_path: Path) -> None:
    require_browser()
    with romcam_serve(tmp_path, timeout=STARTUP_S) as (port, _proc):
        log = (tmp_path / f"serve-{port}.log").read_text()
        assert "no camera could be opened (camera 0)" in log and "demo video" in log
        base = f"http://127.0.0.1:{port}"
        line = next(x for x in log.splitlines() if x.startswith("romcam serving on"))
        assert f"{base}/coach" in line, line  # the address the patient types
        assert re.search(rf"dashboard is {re.escape(base)}/(\s|$)", line), line

        problems: list[str] = []
        with offline_page(base, problems) as pg:
            pg.goto(f"{base}/")  # the bare address: the PT's patient list ...
            pointer = pg.get_by_role("link", name="Here to exercise? Open the coach")
            pointer.wait_for(state="visible")  # ... with the way to the coach at the top
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "first_run_root.png"))
            pointer.click()
            pg.wait_for_url(f"{base}/coach")
            pg.get_by_role("button", name="Start", exact=True).wait_for(state="visible")
            # the banner shows once the page has the server's status, which may come after the plan and Start
            pg.get_by_text("Demo video", exact=True).first.wait_for(state="visible")
            # a session on the demo video is a try-out: its end sends nothing to anyone (it said "Send to my
            # therapist", "Your therapist sees these numbers")
            start_and_finish(pg)
            assert pg.locator("#checkin-send").inner_text() == "Finish (a try-out)"
            where = pg.locator("#checkin-where").inner_text()
            assert where == "A try-out: nothing from it is counted or sent to anyone.", where
            assert "therapist sees" not in pg.locator("#end").inner_text()
        assert problems == []


def test_a_server_without_the_live_coach_points_nobody_to_it(tmp_path: Path) -> None:
    require_browser()
    with romcam_serve(tmp_path, "--no-live", ready="/healthz") as (port, _proc):
        line = next(x for x in (tmp_path / f"serve-{port}.log").read_text().splitlines()
                    if x.startswith("romcam serving on"))
        assert "/coach" not in line
        base = f"http://127.0.0.1:{port}"
        problems: list[str] = []
        with offline_page(base, problems) as pg:
            with pg.expect_response(lambda r: r.url.endswith("/live/status")) as answer:
                pg.goto(f"{base}/")
            assert answer.value.status == 503
            pg.wait_for_selector("body[data-loaded=true]")
            pg.wait_for_timeout(300)  # the answer handled
            assert not pg.locator("#coach-pointer").is_visible()
        # /live/status answers 503 without a capture worker: the browser logs that failed request
        assert all("503" in p for p in problems), problems
