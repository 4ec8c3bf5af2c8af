"""The laptop's link to a clinic (issue 7 sync, docs/sync.md), for the patient's local page:
``GET /api/link/status`` (linked to whom, sessions waiting, last upload, last error in plain words) and
the consent to share results with the PT (``POST /api/link/consent`` gives it, ``DELETE`` withdraws it).

Only the laptop's own user reaches these (the same check as the live coach: on a clinic server they
answer 404). A consent must come from this laptop's own page: a JSON body (a cross-site form cannot
send one) and, when the browser names an Origin, this server's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import ConfigDict, Field
from starlette.requests import HTTPConnection

from ..input_checks import CheckedInput, MustBeTrue
from ..store.errors import ConflictError
from .deps import local_patient

router = APIRouter(prefix="/api/link", tags=["link"], dependencies=[Depends(local_patient)])


class ConsentIn(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    consent: MustBeTrue
    # the clinic the page named when the patient said yes (the coach page sends it): a link changed since
    # (`romcam link` while romcam runs) is not consented to on words that named another clinic
    clinic_url: str | None = Field(None, max_length=2000)


def _sync(conn: HTTPConnection):  # type: ignore[no-untyped-def]
    sync = getattr(conn.app.state, "sync", None)
    if sync is None:
        raise ConflictError("this laptop is not linked to a clinic: start romcam with --upload-to URL --token TOKEN")
    return sync


def _same_origin(conn: HTTPConnection) -> None:
    origin = conn.headers.get("origin")
    if origin is None:
        return
    host = conn.headers.get("host", "")
    if origin not in (f"http://{host}", f"https://{host}"):
        raise HTTPException(403, "consent is given on this laptop's own page only")


@router.get("/status")
def link_status(conn: HTTPConnection) -> dict[str, Any]:
    """Not linked: ``{"linked": false}``. Linked: the clinic, the consent, the outbox counts and the
    last upload and error (the device token is never shown)."""
    sync = getattr(conn.app.state, "sync", None)
    if sync is None:
        return {"linked": False}
    return sync.status().public()


@router.post("/consent")
def give_consent(body: ConsentIn, conn: HTTPConnection) -> dict[str, Any]:
    _same_origin(conn)
    sync = _sync(conn)
    if body.clinic_url is not None and body.clinic_url != sync.link.url:
        raise ConflictError(f"this laptop is now linked to {sync.link.clinic}, not the clinic the page showed: look "
                            "at the panel again, and say yes there if you want to share with it")
    sync.set_consent(True)
    return sync.status().public()


@router.delete("/consent")
def withdraw_consent(conn: HTTPConnection) -> dict[str, Any]:
    _same_origin(conn)
    sync = _sync(conn)
    sync.set_consent(False)
    return sync.status().public()
