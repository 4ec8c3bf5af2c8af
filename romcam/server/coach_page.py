"""The patient's coaching page, ``/coach``: a static HTML shell whose script follows the live coach.

The page reads the live endpoints of docs/live.md: events on the WebSocket ``/live/ws``, the
annotated MJPEG ``/live/video.mjpg``, today's plan from ``GET /live/plan``, the state from
``GET /live/status``, and it drives the session with ``POST /live/start|pause|resume|stop|next|rest``
and ``POST /live/checkin``. The template is ``web/templates/coach.html``; the script and style are
``web/static/coach/`` (served under ``/static``). No inline script or style, so a
Content-Security-Policy without 'unsafe-inline' holds.

The server fills in one thing: the exercise catalog as a ``<datalist>`` (names, which end of the
range each motion works, normal ranges), which the gauge and the end-of-session summary need and
the live plan does not carry.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ..catalog import default_catalog
from .deps import HumanDep

TEMPLATE = Path(__file__).resolve().parents[2] / "web" / "templates" / "coach.html"

router = APIRouter(include_in_schema=False)

@lru_cache(maxsize=1)
def _catalog_datalist() -> str:
    rows = []
    for m in default_catalog():
        attrs = {
            "value": m.id,
            "data-name": m.display_name,
            "data-works": m.works,
            "data-view": m.view,
            "data-normal-min": f"{m.normal.min:g}",
            "data-normal-max": f"{m.normal.max:g}",
        }
        rows.append("<option " + " ".join(f'{k}="{html.escape(v)}"' for k, v in attrs.items()) + "></option>")
    return '<datalist id="romcam-catalog">\n' + "\n".join(rows) + "\n</datalist>"


@router.get("/coach", response_class=HTMLResponse)
def coach_page(user: HumanDep) -> HTMLResponse:
    """The coaching page a patient (or a caregiver) follows hands-free during a live session."""
    text = TEMPLATE.read_text(encoding="utf-8").replace("{{catalog}}", _catalog_datalist())
    return HTMLResponse(text)  # security headers and no-store: romcam/server/hardening.py, as for every page
