"""Trends (best angle per session, per series), adherence, alerts and snoozing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..session_doc import Mode, Posture, Side, check_exercise
from ..store import trends
from ..store.errors import InvalidError
from ..store.service import now_utc
from .deps import AlertDep, CoachDep, PatientDep, ZoneDep
from .schemas import AdherenceOut, AlertPublic, SnoozeIn, TrendOut

router = APIRouter(prefix="/api", tags=["trends"])


@router.get("/patients/{patient_id}/trends", response_model=TrendOut)
def get_trends(scope: PatientDep, exercise: Annotated[str, Query(max_length=64)], side: Side,
               mode: Mode | None = None, posture: Posture | None = None) -> dict:
    try:
        check_exercise(exercise)
    except ValueError as exc:
        raise InvalidError(("query", "exercise"), str(exc)) from None
    return trends.trends(scope.db, scope.patient, exercise=exercise, side=side, mode=mode, posture=posture)


@router.get("/patients/{patient_id}/adherence", response_model=AdherenceOut)
def get_adherence(scope: PatientDep, zone: ZoneDep, coach: CoachDep, days: int = Query(56, ge=1, le=731)) -> dict:
    """The calendar's days are ``tz``'s (the dashboard sends its reader's zone)."""
    return trends.adherence(scope.db, scope.patient, days=days, now=now_utc(), zone=zone, coach=coach)


@router.get("/patients/{patient_id}/alerts", response_model=list[AlertPublic])
def list_alerts(scope: PatientDep) -> list[dict]:
    return trends.list_alerts(scope.db, scope.patient, now=now_utc())


@router.post("/alerts/{alert_id}/snooze", response_model=AlertPublic)
def snooze_alert(body: SnoozeIn, scope: AlertDep) -> dict:
    return trends.snooze_alert(scope.db, scope.alert, days=body.days, now=now_utc())
