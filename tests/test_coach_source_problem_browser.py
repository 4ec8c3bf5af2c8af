"""No picture, and the page says why in the server's own words (a real browser, a real server).

``romcam serve`` with no camera falls back to the rendered demo video; here the demo video cannot be
written (its folder lies under a regular file, as an unwritable or full disk would refuse it). The
page's camera check must say so and what to do, not blame the camera.

Without /usr/bin/chromium or the playwright package the test skips, unless CI is set: then it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import offline_page, require_browser, romcam_serve


def test_the_camera_check_says_why_there_is_no_picture(tmp_path: Path) -> None:
    require_browser()
    if os.path.exists("/dev/video0"):
        pytest.skip("a camera is connected here: romcam serve would use it instead of the demo video")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    problems: list[str] = []
    with romcam_serve(tmp_path, env={"ROMCAM_DATA": str(blocker / "data")}, timeout=120) as (port, _):
        server = f"http://127.0.0.1:{port}"
        with offline_page(server, problems, timeout_ms=30_000) as page:
            page.goto(server + "/coach", wait_until="domcontentloaded")
            page.wait_for_selector("body[data-ready=true]")
            detail = page.locator("#check-camera .check-detail")
            page.wait_for_selector("#check-camera[data-ok=no]", timeout=60_000)
            text = detail.inner_text()
            assert text.startswith(f"Cannot write the demo video to {blocker / 'data' / 'demo'}: "), text
            assert "set ROMCAM_DATA to a folder romcam can write to" in text, text
    assert not problems, "\n".join(problems)
