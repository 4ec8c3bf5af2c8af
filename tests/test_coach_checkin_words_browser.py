"""The end's check-in says where it really goes, in the real browser against real servers: the button read
"Send to my therapist" (and "The therapist sees these numbers") on a laptop linked to no clinic, where it is
kept on this laptop only, and on the demo video, which is a try-out. Linked to a clinic with the patient's
consent it is sent to the therapist; linked without consent it waits on the laptop until they agree.
(Unlinked, the plain laptop: tests/test_coach_browser.py and tests/test_coach_caregiver_browser.py; the demo
video: tests/test_first_run_browser.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from db_fixtures import postgres_server  # noqa: F401 (fixture)
from helpers import offline_page, require_browser, romcam_serve, start_and_finish
from sync_fixtures import FAST_SYNC, ClinicSite, http

from romcam.render import RenderSpec, render_clip

# the clinic's plan is a seated right knee flexion (sync_fixtures.KNEE): a clip of it, for the laptop's camera
SPEC = RenderSpec(exercise="knee_flexion", side="right", view="side", posture="seated", reps=1, fps=10, width=320,
                  height=240, seed=5)


def end_of_a_session(pg, base: str) -> None:  # type: ignore[no-untyped-def]
    """Start a session on the coach page and finish it (Finish pressed twice): the end and its check-in."""
    pg.goto(f"{base}/coach")
    pg.wait_for_selector("body[data-ready=true]")
    start_and_finish(pg)


@pytest.mark.parametrize("consent", [True, False], ids=["consented", "not-yet"])
def test_a_linked_laptops_checkin_goes_to_the_therapist_once_the_patient_consents(
        tmp_path: Path, postgres_server, consent: bool) -> None:  # noqa: F811
    require_browser()
    clip = tmp_path / "knee.mp4"
    render_clip(SPEC, clip)
    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    clinic.start()
    try:
        with romcam_serve(tmp_path, "--source", str(clip), "--loop", "--upload-to", clinic.url, "--token",
                          clinic.token, env=FAST_SYNC) as (port, _):
            base = f"http://127.0.0.1:{port}"
            if consent:
                code, body = http("POST", f"{base}/api/link/consent", {"consent": True})
                assert code == 200 and body["consent"] is True, body
            problems: list[str] = []
            with offline_page(base, problems) as pg:
                end_of_a_session(pg, base)
                button = pg.locator("#checkin-send").inner_text()
                where = pg.locator("#checkin-where")
                note = pg.locator("#end-note").inner_text()
                if consent:
                    assert button == "Send to my therapist"
                    assert where.is_hidden()
                    assert note.startswith("Your therapist sees these numbers."), note
                else:
                    assert button == "Save"
                    assert where.inner_text() == (f"Kept on this laptop until you agree to share results with "
                                                  f"127.0.0.1:{clinic.port}.")
                    assert note.startswith("These numbers are kept on this laptop."), note
            assert problems == []
    finally:
        clinic.close()
