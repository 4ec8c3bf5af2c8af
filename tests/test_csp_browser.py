"""Every page holds under the server's own Content-Security-Policy, in a real browser.

A real ``romcam serve`` on a rendered clip (so /coach has its WebSocket and MJPEG preview) with a
patient, a prescription and sessions posted through the API; Debian's chromium (Playwright) opens the
dashboard, a patient, their report, a session and the coaching page with the headers exactly as the
server sends them (nothing injected). Any CSP violation — reported by the browser's
``securitypolicyviolation`` event or as a console error — fails the test, and so does a script error
or a request off the server. The detector is shown to catch a violation first, so a silent pass
cannot be a deaf browser.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import offline_page, require_browser, romcam_serve

from romcam.store.seed import synthetic_session
from tests.conftest import DEMO_SPEC

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3, "notes": ""}
# the page records what the browser reports, from before its own scripts run
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));
"""


def _api(base: str, method: str, path: str, body: object | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def server(demo_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    require_browser()
    tmp = tmp_path_factory.mktemp("csp")
    with romcam_serve(tmp, "--source", str(demo_clip), "--exercise", DEMO_SPEC.exercise, "--side", DEMO_SPEC.side,
                      timeout=120) as (port, _):
        base = f"http://127.0.0.1:{port}"
        pid = _api(base, "POST", "/api/patients", {"name": "Ada"})["id"]
        rx = _api(base, "POST", f"/api/patients/{pid}/prescriptions", KNEE)
        sid = None
        for days in (20, 13, 6, 1):
            doc = synthetic_session(uuid.UUID(pid), datetime.now(UTC) - timedelta(days=days), [
                {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 112}])
            doc["sets"][0]["prescription_id"], doc["sets"][0]["prescription_version"] = rx["id"], rx["version"]
            sid = _api(base, "POST", "/api/sessions", doc)["id"]
        yield {"base": base, "patient": pid, "session": sid}


@pytest.fixture
def page(server: dict) -> Iterator[tuple[object, list[str]]]:
    problems: list[str] = []  # the headers are the server's own: nothing is rewritten
    with offline_page(server["base"], problems, height=900, init_script=WATCH) as pg:
        yield pg, problems


def _wait(pg, expression: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``expression`` from here: Playwright's wait_for_function evaluates strings in the page,
    which this very policy forbids (no 'unsafe-eval')."""
    deadline = time.monotonic() + timeout
    while not pg.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def _violations(pg) -> list[str]:  # type: ignore[no-untyped-def]
    return pg.evaluate("window.__cspViolations")


def test_the_detector_catches_a_violation(page, server: dict) -> None:
    pg, problems = page
    pg.goto(server["base"] + "/", wait_until="load")
    pg.evaluate("""() => {
        document.body.insertAdjacentHTML('beforeend', '<p style="color: red">inline style</p>');
        const s = document.createElement('script'); s.textContent = 'window.__ran = true'; document.body.append(s);
    }""")
    _wait(pg, "window.__cspViolations.length >= 2")
    found = _violations(pg)
    assert any(v.startswith("style-src") for v in found) and any(v.startswith("script-src") for v in found), found
    assert pg.evaluate("window.__ran === undefined"), "an inline script ran: the policy is not enforced"
    assert any("Content Security Policy" in p for p in problems), problems
    problems.clear()


@pytest.mark.parametrize("path, ready", [
    ("/", "body[data-loaded=true]"),
    ("/patients/{patient}", "body[data-loaded=true]"),
    ("/patients/{patient}/report", "body[data-loaded=true]"),
    ("/sessions/{session}", "body[data-loaded=true]"),
])  # fmt: skip
def test_dashboard_pages_hold_under_the_servers_csp(page, server: dict, path: str, ready: str) -> None:
    pg, problems = page
    response = pg.goto(server["base"] + path.format(**server))
    assert response is not None and response.ok
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe-inline" not in csp
    pg.wait_for_selector(ready)
    pg.wait_for_load_state("networkidle")
    if path != "/":  # the charts really drew (Chart.js under the policy)
        assert pg.locator("canvas").count() >= 1
        assert pg.eval_on_selector("canvas", "c => c.width > 0 && c.height > 0")
    assert _violations(pg) == [] and problems == [], _violations(pg) + problems


def test_the_coaching_page_holds_under_the_servers_csp(page, server: dict) -> None:
    pg, problems = page
    response = pg.goto(server["base"] + "/coach")
    assert response is not None and response.ok
    assert response.headers["content-security-policy"].count("script-src") == 1  # one policy, the server's
    pg.wait_for_selector("body[data-ready=true]")
    pg.locator("#primary").click()  # Start: the WebSocket events and the MJPEG preview flow
    pg.wait_for_selector("body[data-started=true]")
    _wait(pg, "document.getElementById('video').naturalWidth > 0", timeout=60)  # the MJPEG shows
    _wait(pg, "document.getElementById('angle').dataset.angle !== undefined", timeout=60)  # events arrive
    pg.wait_for_timeout(2000)
    assert _violations(pg) == [] and problems == [], _violations(pg) + problems
