"""The PT's dashboard pages: static HTML shells whose JavaScript reads the JSON API (docs/api.md).

Every page takes the user and the patient from the same dependencies as the API (``deps``), so
the one access check covers the pages too: an unknown or not-yours id is a 404 before any HTML.
The templates live in ``web/templates/``, the scripts and styles in ``web/static/dashboard/``
(served by the app under ``/static``). Pages carry no inline script, so a Content-Security-Policy
without 'unsafe-inline' holds. The server fills in only two things: the id from the path (a UUID,
validated by FastAPI) and the exercise catalog, as a ``<datalist>`` the scripts read names,
postures and normal ranges from (the API has no catalog endpoint).
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ..catalog import default_catalog
from .deps import HumanDep, PatientDep, SessionDep, User, require_roles

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
TEMPLATES_DIR = WEB_DIR / "templates"

router = APIRouter(include_in_schema=False)

# the accounts page: the clinic's admin, or the laptop's local user (told there are none here)
AccountsPageDep = Annotated[User, Depends(require_roles("local", "admin"))]


@lru_cache(maxsize=1)
def _catalog_datalist() -> str:
    """Every catalog motion as an ``<option>`` with the fields the pages need as data attributes."""
    rows = []
    for m in default_catalog():
        attrs = {
            "value": m.id,
            "data-name": m.display_name,
            "data-joint": m.joint,
            "data-works": m.works,
            "data-postures": " ".join(m.postures),
            "data-normal-min": f"{m.normal.min:g}",
            "data-normal-max": f"{m.normal.max:g}",
            "data-normal-source": m.normal.citation,
            "data-experimental": "true" if m.experimental else "false",
            "data-noise-peak": f"{m.measurement_noise_deg:g}",
            "data-noise-return": f"{m.return_noise_deg:g}",
        }
        rows.append("<option " + " ".join(f'{k}="{html.escape(v)}"' for k, v in attrs.items()) + "></option>")
    return '<datalist id="romcam-catalog">\n' + "\n".join(rows) + "\n</datalist>"


def _render(template: str, status_code: int = 200, **values: str) -> HTMLResponse:
    """Fill ``{{name}}`` placeholders (escaped) and the ``{{catalog}}`` datalist into a template."""
    text = (TEMPLATES_DIR / template).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value))
    text = text.replace("{{catalog}}", _catalog_datalist())
    # pages are shells: the data comes from the API, so a cached shell is never stale, but keep
    # it out of shared caches all the same (patient pages).
    return HTMLResponse(text, status_code=status_code, headers={"Cache-Control": "no-store"})


@router.get("/", response_class=HTMLResponse)
def patient_list_page(user: HumanDep) -> HTMLResponse:
    """All patients: last session, adherence over 7 and 30 days, alerts to review."""
    return _render("patients.html")


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(patient_id: UUID, scope: PatientDep) -> HTMLResponse:
    """One patient: a trend chart per prescribed motion (and per alerted one the plan no longer holds),
    adherence calendar, alerts, the plan."""
    return _render("patient.html", patient_id=str(scope.patient.id))


@router.get("/patients/{patient_id}/report", response_class=HTMLResponse)
def report_page(patient_id: UUID, scope: PatientDep) -> HTMLResponse:
    """A printable report of one patient's trends and latest values."""
    return _render("report.html", patient_id=str(scope.patient.id))


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(session_id: UUID, scope: SessionDep) -> HTMLResponse:
    """One session: each set's angle-time curve with its reps and the target band."""
    return _render("session.html", session_id=str(scope.session.id))


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(user: AccountsPageDep) -> HTMLResponse:
    """The clinic admin's accounts: deactivate one, activate it again (anyone else: 403, as the API). On the
    laptop (local mode) there are none: a 404 page that says where they are kept."""
    if user.is_local:
        return _render("no_accounts.html", status_code=404)
    return _render("accounts.html")
