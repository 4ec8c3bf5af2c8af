"""The live recorder: nothing lost. Every call is one short transaction through
:mod:`romcam.store.live`:

- ``begin_session`` (on Start): the session is stored at once, status ``interrupted``;
- ``begin_set`` / ``add_sample`` / ``rep_counted`` / ``rep_final``: each counted rep is written the
  moment it is counted (and rewritten when final); the samples (every processed frame, so at least
  10/s) are flushed about once a second of source time;
- ``end_set``: the set's reps and peaks are replaced by the offline analysis of the whole set
  (``romcam.analysis.summarize``), so the dashboard and ``romcam analyze`` agree;
- ``end_session``: ``complete`` (the plan done or Stop) or ``interrupted`` (the source ended, the
  server stopped); a SIGKILL leaves the session ``interrupted`` with every rep up to the last one.
"""

from __future__ import annotations

import math
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import __version__
from ..analysis import summarize
from ..catalog import get_motion
from ..measure import Sample
from ..session_doc import set_from_analysis
from ..store import live as live_store
from ..store.db import Store
from .coach import PlanItem

FLUSH_EVERY_S = 1.0


class Recorder:
    """Writes one live session to the store as it runs (called from the capture worker)."""

    def __init__(self, store: Store, *, patient_id: uuid.UUID, source: str, demo: bool, model: str) -> None:
        self.store = store
        self.patient_id = patient_id
        self.source = source
        self.demo = demo
        self.model = model
        self.session_id: uuid.UUID | None = None
        self.started_at: datetime | None = None
        self._set_id: uuid.UUID | None = None
        self._set_pos = -1
        self._item: PlanItem | None = None
        self._set_started: datetime | None = None
        self._set_t0 = 0.0
        self._fps = 30.0
        self._samples: list[Sample] = []
        self._last_flush_t = -math.inf
        self._set_docs: list[dict[str, Any]] = []
        self.last_error: str | None = None

    # ---------------------------------------------------------------- helpers

    def _write(self, fn, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
        try:
            with self.store.session() as db:
                return fn(db, **kwargs)
        except Exception as exc:  # the coach goes on; the next write tries again
            self.last_error = f"{type(exc).__name__}: {exc}"
            print(f"romcam: could not record the live session: {self.last_error}", file=sys.stderr)
            return None

    @property
    def recording(self) -> bool:
        return self.session_id is not None

    # ---------------------------------------------------------------- session

    def begin_session(self, now: datetime | None = None) -> uuid.UUID:
        self.session_id = uuid.uuid4()
        self.started_at = now or datetime.now(UTC)
        self._set_docs = []
        self._set_pos = -1
        self._write(live_store.begin_session, session_id=self.session_id, patient_id=self.patient_id,
                    started_at=self.started_at, source=self.source, demo=self.demo, model=self.model,
                    romcam_version=__version__)
        return self.session_id

    def begin_set(self, item: PlanItem, *, t: float, fps: float, now: datetime | None = None) -> None:
        if self.session_id is None:
            return
        if self._set_id is not None:
            self.end_set()
        self._set_pos += 1
        self._item = item
        self._fps = fps
        self._set_t0 = t
        self._samples = []
        self._last_flush_t = t
        self._set_started = now or datetime.now(UTC)
        rx = uuid.UUID(item.prescription_id) if item.prescription_id else None
        self._set_id = live_store.set_id_of(self.session_id, self._set_pos)
        self._write(live_store.begin_set, session_id=self.session_id, position=self._set_pos,
                    started_at=self._set_started, exercise=item.exercise, side=item.side, mode=item.mode,
                    posture=item.posture, prescription_id=rx, prescription_version=item.version if rx else None,
                    fps=fps)

    def add_sample(self, sample: Sample) -> None:
        """One processed frame of the set (times stored relative to the set's start)."""
        if self._set_id is None:
            return
        self._samples.append(sample)
        if sample.t - self._last_flush_t >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if self._set_id is None or not self._samples:
            return
        self._last_flush_t = self._samples[-1].t
        seen = [s.view_ok for s in self._samples if s.view_ok is not None]
        self._write(live_store.put_samples, set_id=self._set_id,
                    t=[max(0.0, s.t - self._set_t0) for s in self._samples],
                    angle=[s.angle for s in self._samples], frames=len(self._samples),
                    view_ok_fraction=sum(seen) / len(seen) if seen else 0.0)

    def rep(self, position: int, rep: dict[str, Any]) -> None:
        """Store rep ``position`` of the set now (times in source seconds; stored from the set's start)."""
        if self._set_id is None or self._item is None:
            return
        r = dict(rep)
        for key in ("start", "peak", "end"):
            r[key] = max(0.0, float(r[key]) - self._set_t0)
        r["peak"] = min(max(r["peak"], r["start"]), r["end"])
        self.flush()
        self._write(live_store.put_rep, set_id=self._set_id, position=position, rep=r,
                    works=get_motion(self._item.exercise).works)

    def end_set(self) -> dict[str, Any] | None:
        """The set's final analysis (``summarize`` over its samples) replaces its live rows."""
        if self._set_id is None or self._item is None:
            return None
        item = self._item
        motion = get_motion(item.exercise)
        samples = [Sample(s.index, max(0.0, s.t - self._set_t0), s.angle, s.confidence, s.view_ok, s.view_error,
                          s.detail) for s in self._samples]
        # times must increase strictly for the filters
        clean: list[Sample] = []
        for s in samples:
            if not clean or s.t > clean[-1].t:
                clean.append(s)
        target = None
        if item.prescribed:
            target = item.target_min if motion.works == "max" else item.target_max
        analysis = summarize(motion, item.side, clean, fps=self._fps, video=self.source, frames=len(clean),
                             target=target, model=self.model)
        doc = analysis.to_document()
        rx = item.prescription_id
        set_doc = set_from_analysis(doc, mode=item.mode, posture=item.posture,
                                    prescription_id=uuid.UUID(rx) if rx else None,
                                    prescription_version=item.version if rx else None,
                                    started_at=self._set_started)
        self._write(live_store.finish_set, set_id=self._set_id, set_doc=set_doc)
        self._set_docs.append(set_doc)
        self._set_id = None
        self._item = None
        self._samples = []
        return set_doc

    def end_session(self, status: str, *, now: datetime | None = None) -> uuid.UUID | None:
        if self.session_id is None:
            return None
        self.end_set()
        sid = self.session_id
        ended = now or datetime.now(UTC)
        if self.started_at and ended < self.started_at:
            ended = self.started_at + timedelta(seconds=0)
        self._write(live_store.finish_session, session_id=sid, status=status, ended_at=ended,
                    set_docs=self._set_docs)
        self.session_id = None
        return sid

    def checkin(self, session_id: uuid.UUID, *, pain: int, tiredness: int, cramps: bool, note: str) -> Any:
        with self.store.session() as db:
            return live_store.add_checkin(db, session_id=session_id, pain=pain, tiredness=tiredness, cramps=cramps,
                                          note=note, at=datetime.now(UTC))
