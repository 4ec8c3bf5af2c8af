"""The live recorder: nothing lost. Every call is one short transaction through
:mod:`romcam.store.live`:

- ``begin_session`` (on Start): the session is stored at once, status ``interrupted``;
- ``begin_set`` / ``add_sample`` / ``rep``: each counted rep is written the moment it is counted
  (and rewritten when final); the samples (every processed frame, so at least 10/s) are flushed
  about once a second of source time;
- ``end_set``: the set's reps and peaks are replaced by the offline analysis of the whole set
  (``romcam.analysis.summarize``), so the dashboard and ``romcam analyze`` agree;
- ``end_session``: ``complete`` (the plan done or Stop) or ``interrupted`` (the source ended, the
  server stopped); a SIGKILL leaves the session ``interrupted`` with every rep up to the last one.

A write that fails (a full disk, a database that went away) loses nothing either: the recorder
keeps in memory everything the session still needs stored (a journal per session: its row, each
set's row, reps, latest samples and final analysis, the closing), says what is wrong
(:attr:`Recorder.problem`, shown and spoken by the live page), and on every later write — and on
:meth:`Recorder.retry`, which the capture worker calls while anything is unsaved — stores what is
missing, in order, with the same row ids. Sessions that ended unsaved wait in a backlog.
"""

from __future__ import annotations

import math
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import __version__
from ..analysis import posture_setup, summarize
from ..catalog import get_motion
from ..measure import Sample
from ..session_doc import set_from_analysis
from ..store import live as live_store
from ..store.db import Store
from ..store.errors import DISK_FULL, READ_ONLY, UNREACHABLE, storage_cause
from .coach import PlanItem

FLUSH_EVERY_S = 1.0
BREAK_S = 0.5  # samples further apart than this (and 4 frames): a pause or a rest, not movement
BREAK_MARKERS = 4  # unmeasured samples put in such a gap: more than the smoothing bridges (filters.MAX_BRIDGED_GAP)


def with_breaks(samples: list[Sample], fps: float) -> list[Sample]:
    """``samples`` with unmeasured ones (angle NaN, nobody seen) put in each gap in time longer than
    ``BREAK_S`` or 4 frames. While the coach is paused or resting no sample is kept, so the arm that was up
    when the patient stopped is down when they come back; smoothed across that jump as if it were
    movement, the curve rings, and a rep's stored peak comes out higher than the patient reached. With
    the gap marked, each stretch is smoothed on its own and the chart draws no line across the rest."""
    gap = max(BREAK_S, 4.0 / fps if fps > 0 else 0.0)
    out: list[Sample] = []
    for x in samples:
        if out and x.t - out[-1].t > gap:
            a, b = out[-1].t, x.t
            step = (b - a) / (BREAK_MARKERS + 1)
            out.extend(Sample(out[-1].index, a + step * (k + 1), math.nan, 0.0, None, math.nan, None)
                       for k in range(BREAK_MARKERS))
        out.append(x)
    return out


def storage_problem(exc: BaseException) -> str:
    """What a failed write means for the user, and what to do (the live page shows and speaks it)."""
    keep = "romcam keeps this session in memory and saves it as soon as it can"
    cause = storage_cause(exc)
    if cause == DISK_FULL:
        return f"The disk is full, so this session is not saved yet. Free some space on this computer: {keep}."
    if cause == READ_ONLY:
        return f"The database cannot be written to (read-only), so this session is not saved yet: {keep}."
    if cause == UNREACHABLE:
        return f"The database cannot be reached, so this session is not saved yet: {keep}."
    return f"This session is not saved yet ({type(exc).__name__}: {exc}): {keep}."


def _with_warnings(warnings: Any, first: list[str]) -> list[str]:
    """``first`` before a set's own warnings (none twice), within the set document's 50."""
    own = [w for w in (warnings or []) if w not in first]
    return [w[:1000] for w in first + own][:50]


@dataclass
class _SetJournal:
    begin: dict[str, Any]  # live_store.begin_set arguments
    set_id: uuid.UUID
    works: str
    begun: bool = False
    reps: dict[int, dict[str, Any]] = field(default_factory=dict)  # counted reps not stored yet, by position
    latest: dict[int, dict[str, Any]] = field(default_factory=dict)  # each rep as last given, stored or not
    samples: dict[str, Any] | None = None  # the latest live_store.put_samples arguments not stored yet
    final: dict[str, Any] | None = None  # the set document from the final analysis ...
    finished: bool = False  # ... and whether it is stored


@dataclass
class _Journal:
    """One session: what it needs stored, and how much of that is."""

    session_id: uuid.UUID
    begin: dict[str, Any]  # live_store.begin_session arguments
    begun: bool = False
    sets: list[_SetJournal] = field(default_factory=list)
    end: dict[str, Any] | None = None  # live_store.finish_session arguments once the session ended ...
    ended: bool = False  # ... and whether that is stored
    failed: bool = False  # a write of it failed at least once

    @property
    def saved(self) -> bool:
        return self.begun and all(s.begun and not s.reps and s.samples is None and (s.final is None or s.finished)
                                  for s in self.sets) and (self.end is None or self.ended)


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
        self._coached_version: int | None = None  # the prescription version whose target the open set is coached to
        self._set_started: datetime | None = None
        self._set_t0 = 0.0
        self._fps = 30.0
        self._samples: list[Sample] = []
        self._last_flush_t = -math.inf
        self._set_docs: list[dict[str, Any]] = []
        self._warnings: list[str] = []  # said of the whole session's source (a damaged video), on every set
        self._journal: _Journal | None = None  # the session being recorded
        self._backlog: list[_Journal] = []  # sessions that ended before everything was stored
        self.last_error: str | None = None  # the last failed write, as the exception said it
        self.problem: str | None = None  # ... and for the user; None once everything is stored again
        self._database_down = False  # the last failure was the database's (full, read-only, unreachable)

    # ---------------------------------------------------------------- storing

    def _try(self, fn, **kwargs: Any) -> bool:  # type: ignore[no-untyped-def]
        try:
            with self.store.session() as db:
                fn(db, **kwargs)
            return True
        except Exception as exc:  # the coach goes on; everything not stored is kept and tried again
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            if message != self.last_error:
                print(f"romcam: could not record the live session: {message}", file=sys.stderr)
            self.last_error = message
            self.problem = storage_problem(exc)
            self._database_down = storage_cause(exc) is not None
            return False

    def _store(self, j: _Journal) -> bool:
        """Store what ``j`` still needs, in order; False at the first write that fails."""
        if not self._store_steps(j):
            j.failed = True
            return False
        return True

    def _store_steps(self, j: _Journal) -> bool:
        if not j.begun:
            if not self._try(live_store.begin_session, **j.begin):
                return False
            j.begun = True
        for s in j.sets:
            if not s.begun:
                if not self._try(live_store.begin_set, **s.begin):
                    return False
                s.begun = True
            if s.final is not None:  # the final analysis replaces the live reps and samples
                if not s.finished:
                    if not self._try(live_store.finish_set, set_id=s.set_id, set_doc=s.final):
                        return False
                    s.finished = True
                s.reps.clear()
                s.samples = None
                continue
            if s.samples is not None:
                if not self._try(live_store.put_samples, **s.samples):
                    return False
                s.samples = None
            for position in sorted(s.reps):
                if not self._try(live_store.put_rep, set_id=s.set_id, position=position, rep=s.reps[position],
                                 works=s.works):
                    return False
                del s.reps[position]
        if j.end is not None and not j.ended:
            if not self._try(live_store.finish_session, **j.end):
                return False
            j.ended = True
        return True

    def retry(self) -> bool:
        """Store whatever is still unsaved: the sessions that ended unsaved (oldest first), then the one
        running. True when nothing is left unsaved. After a failure the database is left alone until the
        next call (each try can take a connection timeout), unless the failure was not the database's own
        (a session it refuses must not hold back the others)."""
        for j in [*self._backlog, *([self._journal] if self._journal is not None else [])]:
            if self._store(j):
                if j in self._backlog:
                    self._backlog.remove(j)
                    if j.failed:
                        print(f"romcam: session {j.session_id} is saved now", file=sys.stderr)
            elif self._database_down:
                return False
        if self.unsaved:
            return False
        self.problem = None
        return True

    @property
    def unsaved(self) -> bool:
        """Something recorded is not in the database yet (a write failed)."""
        return bool(self._backlog) or (self._journal is not None and not self._journal.saved)

    @property
    def recording(self) -> bool:
        return self.session_id is not None

    def _current_set(self) -> _SetJournal | None:
        j = self._journal
        return j.sets[-1] if j is not None and j.sets and self._set_id is not None else None

    # ---------------------------------------------------------------- session

    def begin_session(self, now: datetime | None = None) -> uuid.UUID:
        self.session_id = uuid.uuid4()
        self.started_at = now or datetime.now(UTC)
        self._set_docs = []
        self._warnings = []
        self._set_pos = -1
        self._journal = _Journal(self.session_id, dict(
            session_id=self.session_id, patient_id=self.patient_id, started_at=self.started_at, source=self.source,
            demo=self.demo, model=self.model, romcam_version=__version__))
        self.retry()
        return self.session_id

    def begin_set(self, item: PlanItem, *, t: float, fps: float, now: datetime | None = None) -> None:
        if self.session_id is None or self._journal is None:
            return
        if self._set_id is not None:
            self.end_set()
        self._set_pos += 1
        self._item = item
        self._coached_version = item.version if item.prescription_id else None
        self._fps = fps
        self._set_t0 = t
        self._samples = []
        self._last_flush_t = t
        self._set_started = now or datetime.now(UTC)
        rx = uuid.UUID(item.prescription_id) if item.prescription_id else None
        self._set_id = live_store.set_id_of(self.session_id, self._set_pos)
        self._journal.sets.append(_SetJournal(dict(
            session_id=self.session_id, position=self._set_pos, started_at=self._set_started, exercise=item.exercise,
            side=item.side, mode=item.mode, posture=item.posture, prescription_id=rx,
            prescription_version=item.version if rx else None, fps=fps), self._set_id,
            get_motion(item.exercise).works))
        self.retry()

    def refile(self, item: PlanItem) -> None:
        """The open set is now coached on ``item``: the PT's safer limit took over during it
        (``Coach.take_plan``). The set is filed under ``item``'s prescription version, whose limits judge it
        on the session page (docs/live.md "The PT changes the plan"); its target stays the one it was coached to."""
        s = self._current_set()
        if s is None or self._item is None or item.prescription_id != self._item.prescription_id:
            return
        self._item = item
        if not s.begun:
            s.begin["prescription_version"] = item.version if item.prescription_id else None

    def warn(self, text: str) -> None:
        """A warning about the session's source (a video damaged in its middle: ``romcam.source.skipped_warning``),
        first among the warnings of every set of the session: the sets finished already are stored again with
        it, the open one gets it when it ends."""
        j = self._journal
        if j is None or text in self._warnings:
            return
        self._warnings.append(text)
        for s in j.sets:
            if s.final is not None:
                s.final["warnings"] = _with_warnings(s.final.get("warnings"), [text])
                s.finished = False  # stored again (finish_set replaces the set's rows as a whole)
        self.retry()

    def add_sample(self, sample: Sample) -> None:
        """One processed frame of the set (times stored relative to the set's start)."""
        if self._set_id is None:
            return
        self._samples.append(sample)
        if sample.t - self._last_flush_t >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        s = self._current_set()
        if s is not None and self._samples:
            self._last_flush_t = self._samples[-1].t
            seen = [x.view_ok for x in self._samples if x.view_ok is not None]
            marked = with_breaks(self._samples, self._fps)  # a pause or a rest: a gap in the curve
            s.samples = dict(set_id=s.set_id, t=[max(0.0, x.t - self._set_t0) for x in marked],
                             angle=[x.angle for x in marked], frames=len(self._samples),
                             view_ok_fraction=sum(seen) / len(seen) if seen else 0.0)
        self.retry()

    def rep(self, position: int, rep: dict[str, Any]) -> None:
        """Store rep ``position`` of the set now (times in source seconds; stored from the set's start)."""
        s = self._current_set()
        if s is None or self._item is None:
            return
        r = dict(rep)
        for key in ("start", "peak", "end"):
            r[key] = max(0.0, float(r[key]) - self._set_t0)
        # a counted rep is stored at once, from the moment the one before it was counted (provisional); the final
        # rep before it, known later, may end after that moment: the reps never overlap (a set whose reps overlap
        # is refused by romcam.session_doc, and a session stopped by a crash keeps its provisional reps)
        before = s.latest.get(position - 1)
        if before is not None and r["start"] < before["end"] < r["end"]:
            r["start"] = before["end"]
        r["peak"] = min(max(r["peak"], r["start"]), r["end"])
        s.reps[position] = s.latest[position] = r
        after = s.latest.get(position + 1)
        if after is not None and after["start"] < r["end"] < after["end"]:
            after = dict(after, start=r["end"])
            after["peak"] = min(max(after["peak"], after["start"]), after["end"])
            s.reps[position + 1] = s.latest[position + 1] = after
        self.flush()

    def end_set(self) -> dict[str, Any] | None:
        """The set's final analysis (``summarize`` over its samples) replaces its live rows."""
        s = self._current_set()
        if s is None or self._item is None:
            return None
        item = self._item
        motion = get_motion(item.exercise)
        samples = [Sample(x.index, max(0.0, x.t - self._set_t0), x.angle, x.confidence, x.view_ok, x.view_error,
                          x.detail) for x in self._samples]
        # times must increase strictly for the filters
        clean: list[Sample] = []
        for x in samples:
            if not clean or x.t > clean[-1].t:
                clean.append(x)
        target = None
        if item.prescribed:
            target = item.target_min if motion.works == "max" else item.target_max
        frames = len(clean)
        clean = with_breaks(clean, self._fps)  # each stretch between pauses and rests smoothed on its own
        analysis = summarize(motion, item.side, clean, fps=self._fps, video=self.source, frames=frames,
                             target=target, model=self.model, mode=item.mode)  # passive: notes to the caregiver
        posture_setup(analysis, item.posture)  # a patient in a chair or in bed: where the camera goes, not "turn"
        doc = analysis.to_document()
        rx = item.prescription_id
        set_doc = set_from_analysis(doc, mode=item.mode, posture=item.posture,
                                    prescription_id=uuid.UUID(rx) if rx else None,
                                    prescription_version=item.version if rx else None,
                                    started_at=self._set_started)
        if rx and self._coached_version is not None and self._coached_version != item.version:
            # refiled under a safer limit's version (refile): its reps were coached to, and judged by, the target of
            # the version it began with, which the session page and the exports show (romcam.session_doc)
            set_doc["target_version"] = self._coached_version
        set_doc["warnings"] = _with_warnings(set_doc.get("warnings"), self._warnings)
        s.final = set_doc
        self._set_docs.append(set_doc)
        self._set_id = None
        self._item = None
        self._samples = []
        self.retry()
        return set_doc

    def end_session(self, status: str, *, now: datetime | None = None) -> uuid.UUID | None:
        j = self._journal
        if self.session_id is None or j is None:
            return None
        self.end_set()
        sid = self.session_id
        ended = now or datetime.now(UTC)
        if self.started_at and ended < self.started_at:
            ended = self.started_at + timedelta(seconds=0)
        j.end = dict(session_id=sid, status=status, ended_at=ended, set_docs=list(self._set_docs))
        self.session_id = None
        self._journal = None
        self._backlog.append(j)  # until it is stored: tried again on every later write and by retry()
        self.retry()
        return sid

    def close(self) -> None:
        """Last try before the server stops; says plainly what could not be saved."""
        if self.retry():
            return
        lost = [j.session_id for j in self._backlog] + ([self._journal.session_id] if self._journal else [])
        print(f"romcam: could not save {len(lost)} session(s) before stopping ({self.last_error}); "
              f"what was stored before the failure is kept: {', '.join(map(str, lost))}", file=sys.stderr)

    def checkin(self, session_id: uuid.UUID, *, pain: int, tiredness: int, cramps: bool, note: str) -> Any:
        with self.store.session() as db:
            return live_store.add_checkin(db, session_id=session_id, pain=pain, tiredness=tiredness, cramps=cramps,
                                          note=note, at=datetime.now(UTC))
