"""The sync worker: a background thread of ``romcam serve`` that pulls the plan from the clinic and
empties the outbox into it.

Every ``poll_s`` it queues what is ready (:func:`romcam.sync.outbox.enqueue_pending`), and, when the
patient has consented, sends the oldest pending items one at a time: ``POST /api/sessions``, then the
check-ins. The clinic's ingest is idempotent (same id and content: 200), so an item is marked sent only after
the clinic answered, and a crash in between just sends it again. After a failure the whole link waits an
exponential, jittered, capped delay (``backoff_base_s * 2**(n-1)``, at most ``backoff_cap_s``, times a random
factor in [0.5, 1]), once the next item was tried too (one that can never go must not hold back those behind
it; two failures in a row end the round); a refused token stops uploads until the token works again (checked
at the same slow pace); a refused document is kept as ``rejected`` and the rest go on, and it is offered again
when the worker next starts and every ``audit_every_s`` (the clinic may have been updated; a session dated
ahead by a wrong clock is taken once its day has come).
The plan is pulled at start and every ``plan_every_s``; while the live coach runs a session
(``in_session``), every ``session_plan_every_s``, so a safe limit the PT lowers reaches the patient
within it. At start, and every ``audit_every_s``, the
clinic is asked which of the sessions marked sent it holds; any it no longer has (a clinic restored
from a backup) go back in the queue with their check-ins; so does a check-in it lost while it kept its
session.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..store.db import Store
from ..store.errors import ConflictError
from ..store.models import LinkState, OutboxItem
from ..store.service import open_pause_since
from . import outbox
from .client import ClinicClient, ClinicError
from .config import LinkConfig, SyncSettings
from .document import checkin_document, clinic_document
from .plan import ClinicAnswer, apply_plan, link_state, plan_signature, plan_withheld

log = logging.getLogger("romcam.sync")

CLOCK_TOLERANCE_S = 300.0  # a clock off by more than this from the clinic's is said on the coach page
AUDIT_BATCH = 1000  # ids per question to the clinic (its HELD_QUERY_MAX)


# what a patient whose device token the clinic refuses does next (after "ask your PT for a new one"), for a romcam
# given its key on the command line (`romcam serve --upload-to URL --token KEY`): it reads no link file, so a key
# saved with `romcam link` would not reach it
NEW_KEY_STEPS = (" Once you have it, start romcam again with it after `--token`, in place of the old one (or ask "
                 "whoever started romcam for you). Your sessions stay on this laptop until then.")
# the same, for a romcam that follows its link file (romcam.sync.follow): no restart to ask for
NEW_KEY_STEPS_FOLLOWED = (" Once you have it, enter it on this laptop with `romcam link` (or ask whoever helps you "
                          "with the computer): romcam takes it within a few seconds. Your sessions stay on this "
                          "laptop until then.")


def _plain_clinic(exc: ClinicError, steps: str = NEW_KEY_STEPS) -> str:
    """What went wrong with the clinic, and what it means for the patient's sessions: kept while it is out
    of reach; what to do next when it refuses this laptop's key (``steps``)."""
    if exc.kind == "offline":
        return (exc.message.removesuffix("; trying again later")
                + ". Your sessions are kept on this laptop and sent once it answers; trying again later")
    return exc.message + steps if exc.kind == "auth" else exc.message


def _reason(message: str) -> str:
    """A failed try's reason as a clause (the panel says itself that romcam keeps trying)."""
    return message.removesuffix("; trying again later")


class _CannotSay(Exception):
    """The clinic refused the question (a server from before it could answer it)."""


def backoff_delay(failures: int, *, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` failures in a row: exponential, capped, jittered to [½, 1]×."""
    if failures <= 0:
        return 0.0
    raw = min(cap, base * 2 ** min(failures - 1, 30))
    return raw * (0.5 + 0.5 * rng())


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Status:
    """What the local page shows (``GET /api/link/status``)."""

    linked: bool
    confirmed: bool  # the clinic answered this device token: until then the link is new, its patient unknown
    clinic: str
    clinic_url: str
    patient_name: str
    consent_at: datetime | None
    consent_withdrawn_at: datetime | None  # when sharing was stopped (while it is off)
    recorded_while_off: int | None  # sessions waiting that were recorded since then: sent once consent is given
    waiting: int
    sent: int
    rejected: int
    held: int  # recorded while the token named another clinic patient: not sent to this one
    unanswered: int  # recorded under a token the clinic never answered: sent under no other (docs/sync.md)
    failing: int  # waiting sessions whose last try failed without being refused (a 5xx, no answer in time)
    failing_error: str  # the reason of the latest such try, in plain words ("" when none)
    # why the clinic cannot be reached now, in plain words ("" when it answered the last time it was asked, or was not
    # asked yet): its plan pull got no answer (no answer at all, a timeout, a 5xx), or an upload round got none twice
    # in a row, or no answer at all; the panel then says that once, not each waiting session as failing
    unreachable: str
    last_upload_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    plan_pulled_at: datetime | None
    token_refused: bool
    next_try_in_s: float | None
    clock_off_s: float | None  # this computer's clock less the clinic's, when off by more than CLOCK_TOLERANCE_S
    plan_changed_at: datetime | None  # the clinic's plan changed from the one the coach started with (at this pull)

    def public(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()} | {
            "consent": self.consent_at is not None,
            "shares": ["joint angles and their curves", "repetitions and holds", "your check-ins (pain, tiredness, "
                       "cramps, note)", "exercise times"],
            "never": ["video", "pictures"],
        }


def _plain(exc: Exception) -> str:
    """An exception in a line a patient can read: a refused document's first problem, not pydantic's dump."""
    from pydantic import ValidationError

    from ..input_checks import first_problem

    return first_problem(exc) if isinstance(exc, ValidationError) else str(exc)


class SyncWorker:
    def __init__(self, store: Store, link: LinkConfig, settings: SyncSettings | None = None, *,
                 orphans: frozenset[uuid.UUID] | None = None) -> None:
        """``orphans``: the sessions unfinished when this process started (read now when not given); a worker made
        for a link that changed while romcam runs (romcam.sync.follow) is given the start's, so a session the live
        coach is recording now is not taken for one a crash cut off."""
        self.store = store
        self.link = link
        self.settings = settings or SyncSettings()
        self.client = ClinicClient(link, timeout=self.settings.timeout_s)
        self.fp = link.fingerprint  # which device token the sessions recorded from now on are under
        with store.session() as db:  # what a crash left unfinished, before this process records anything
            self.orphans = outbox.unfinished_sessions(db) if orphans is None else orphans
            state = link_state(db, link.url)
            if state.started_fp != self.fp:
                # a new token (or the first link): every session there is now was recorded under the token
                # romcam ran with before; queued as that one's, once, so that a restart before the clinic
                # answers the new token never takes the new patient's sessions for the last one's
                before = state.started_fp
                db.commit()
                outbox.enqueue_pending(db, patient_id=store.local_patient_id, orphans=self.orphans, now=_now(),
                                       link_fp=before)
                state = link_state(db, link.url)
                if before is not None:  # a re-link: consent is asked again (whoever is at the laptop now says yes
                    # to what will be sent); unconfirmed until the clinic answers this token, unless it is the one it
                    # answered last (confirmed_fp stays that one's: what was recorded under it is that patient's, and
                    # what was recorded under a token never answered is sent under no other)
                    state.consent_at, state.consent_withdrawn_at = None, None
                state.started_fp = self.fp
            db.commit()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._retry_at = 0.0  # time.monotonic() before which nothing is sent
        self._plan_pulled_at: float | None = None  # time.monotonic() of the last pull the clinic answered
        self._audit_at = 0.0  # time.monotonic() when the clinic is next asked what it holds (inf: it cannot say)
        self._offer_at = 0.0  # time.monotonic() when what the clinic refused is next offered again
        self._audit_checkins = True  # False: the clinic cannot say which check-ins it holds (until the next start)
        self.token_refused = False
        self.unreachable = ""  # Status.unreachable
        # this romcam follows its link file (romcam.sync.follow; set by create_app): a new key entered with
        # `romcam link` is taken without a restart, and the words for a refused key say so
        self.follows_link_file = False
        # how the clinic answered the last plan pull (None: it gave the plan, or was not asked yet): what a coach
        # page of a re-linked laptop says while it follows no plan (romcam.live.plan.plan_waiting)
        self.clinic_answer: ClinicAnswer | None = None
        # told when clinic_answer changes to refused or out of reach (CaptureWorker.clinic_answer_changed; set by
        # create_app): the page then says why again; a pull the clinic answers goes by on_plan_change
        self.on_clinic_answer: Callable[[], object] | None = None
        self.plan_in_use: frozenset[tuple[uuid.UUID, int]] | None = None  # the plan the live coach follows
        self.plan_changed_at: datetime | None = None  # the last pull that changed it (since romcam started)
        self._plan_withheld = False  # the stored plan is another token's patient's (plan_withheld), at the last look
        # the running coach takes a plan a pull changed (CaptureWorker.follow_plan; set by create_app)
        self.on_plan_change: Callable[[], object] | None = None
        # the running coach says the plan is paused, or no longer (CaptureWorker.pause_changed; set by create_app):
        # told after a pull that paused or resumed it at the clinic
        self.on_pause_change: Callable[[], object] | None = None
        # whether the live coach runs a session now: the plan is then pulled every session_plan_every_s (set by
        # create_app)
        self.in_session: Callable[[], bool] | None = None

    @property
    def _new_key_steps(self) -> str:
        return NEW_KEY_STEPS_FOLLOWED if self.follows_link_file else NEW_KEY_STEPS

    # ------------------------------------------------------------------ state

    def _state(self, db) -> LinkState:  # type: ignore[no-untyped-def]
        return link_state(db, self.link.url)

    def confirmed(self, state: LinkState) -> bool:
        """The clinic answered this device token (``GET /api/device``): the patient the row names is its."""
        return state.confirmed_fp == self.fp

    def consented(self, state: LinkState) -> bool:
        return (state.consent_at is not None and state.consent_url == self.link.url and self.confirmed(state))

    def set_consent(self, given: bool) -> None:
        if given and self._stop.is_set():  # the link file changed just now (romcam.sync.follow): not this link's
            raise ConflictError("this laptop's link changed just now (`romcam link`): look at the panel again, and "
                                "say yes there if you want to share with the clinic it names")
        with self.store.session() as db:
            state = self._state(db)
            if given and not self.confirmed(state):
                if self.clinic_answer == "refused":
                    raise ConflictError(f"{self.link.clinic} did not accept this laptop's key, so romcam does not "
                                        "know whose results it would share: consent is asked once it accepts one. "
                                        "Ask your PT for a new key." + self._new_key_steps)
                raise ConflictError(f"{self.link.clinic} has not answered since this laptop was linked to it, so "
                                    "romcam does not know yet whose results it would share: consent is asked once "
                                    "it answers")
            if given:
                state.consent_at, state.consent_url, state.consent_withdrawn_at = _now(), self.link.url, None
            else:
                state.consent_at, state.consent_withdrawn_at = None, _now()
            db.commit()
        self.wake()

    def _still_consented(self) -> bool:
        with self.store.session() as db:
            state = db.get(LinkState, 1)
            return state is not None and self.consented(state)

    def _error(self, message: str) -> None:
        with self.store.session() as db:
            state = self._state(db)
            state.last_error, state.last_error_at = message[:1000], _now()
            db.commit()
        log.warning("sync: %s", message)

    def status(self) -> Status:
        # the flags before the stored error: the sync thread writes the error first and sets them after, so a
        # pull failing between the reads below gives a status that says both or neither, never "refused" and no why
        refused, unreachable = self.token_refused, self.unreachable
        with self.store.session() as db:
            state = self._state(db)
            db.commit()
            n = outbox.counts(db, link_fp=self.fp, answered_fp=state.confirmed_fp)
            unanswered = outbox.unanswered(db, link_fp=self.fp, answered_fp=state.confirmed_fp)
            failing, why = outbox.failing(db, link_fp=self.fp, answered_fp=state.confirmed_fp)
            wait = self._retry_at - time.monotonic()
            confirmed = self.confirmed(state)  # not yet: the patient and consent are those of the link before
            off = None if self.consented(state) else outbox.recorded_since(
                db, state.consent_withdrawn_at, link_fp=self.fp, answered_fp=state.confirmed_fp)
            return Status(linked=True, confirmed=confirmed, clinic=self.link.clinic, clinic_url=self.link.url,
                          patient_name=state.clinic_patient_name if confirmed else "",
                          consent_at=state.consent_at if self.consented(state) else None,
                          consent_withdrawn_at=state.consent_withdrawn_at if off is not None else None,
                          recorded_while_off=off, waiting=n["pending"],
                          sent=n["sent"], rejected=n["rejected"], held=n["held"], unanswered=unanswered,
                          failing=failing, failing_error=_reason(why), unreachable=unreachable,
                          last_upload_at=state.last_upload_at,
                          last_error=state.last_error, last_error_at=state.last_error_at,
                          plan_pulled_at=state.plan_pulled_at, token_refused=refused,
                          next_try_in_s=round(wait, 1) if wait > 0 else None, clock_off_s=self.clock_off_s(),
                          plan_changed_at=self.plan_changed_at)

    def clock_off_s(self) -> float | None:
        """How far this computer's clock is from the clinic's (ahead: positive), when beyond
        CLOCK_TOLERANCE_S: sessions are dated by this clock, so a PT would file them on the wrong days
        (and the clinic refuses one dated more than a day ahead of its own clock)."""
        off = self.client.clock_offset_s
        return round(off) if off is not None and abs(off) > CLOCK_TOLERANCE_S else None

    # ------------------------------------------------------------------ plan

    def pull_plan(self, *, timeout: float | None = None) -> bool:
        """``GET /api/device`` and store the plan; False (the error recorded) when it failed."""
        try:
            device = self.client.device(timeout=timeout)
        except ClinicError as exc:
            # out of reach, the patient's worry is their sessions, not the plan (the last one received is used)
            why = _plain_clinic(exc, self._new_key_steps)
            self._error(why if exc.kind == "offline" else f"could not get your plan: {why}")
            # after the error is written: a status read in between said the token was refused with no reason
            self.token_refused = exc.kind == "auth"
            self.unreachable = _reason(exc.message) if exc.kind == "offline" else ""
            self._answered("refused" if exc.kind == "auth" else "unreachable" if exc.kind == "offline" else None)
            return False
        self.token_refused = False
        self.unreachable = ""
        self.clinic_answer = None
        now = _now()
        with self.store.session() as db:
            paused_since = open_pause_since(db, self.store.local_patient_id)
            state = apply_plan(db, local_patient_id=self.store.local_patient_id, clinic_url=self.link.url,
                               device=device, now=now, link_fp=self.fp)
            pause_changed = open_pause_since(db, self.store.local_patient_id) != paused_since
            changed = False
            if self.plan_in_use is not None:  # the running coach follows the plan: it is told of a change
                signature = self._coached_signature(db)
                waited = self._plan_withheld
                self._plan_withheld = plan_withheld(db, self.fp)
                if signature != self.plan_in_use:
                    self.plan_in_use, changed = signature, True
                    if not waited:  # (the first plan of a re-linked patient is no change the PT made)
                        self.plan_changed_at = now
                changed = changed or waited != self._plan_withheld
            if state.last_error.startswith(("could not get your plan", "cannot reach", f"{self.link.clinic} ")):
                state.last_error, state.last_error_at = "", None  # the clinic answers again
                db.commit()
        self._failures = 0
        if changed and self.on_plan_change is not None:  # after the commit: the coach reads what is stored
            try:
                self.on_plan_change()
            except Exception:  # the coach's trouble must not stop the uploads; the log says what it was
                log.exception("sync: the live coach could not take the new plan")
        if pause_changed and self.on_pause_change is not None:
            try:
                self.on_pause_change()
            except Exception:  # as above
                log.exception("sync: the live coach could not say the plan was paused or resumed")
        return True

    def _answered(self, answer: ClinicAnswer | None) -> None:
        """A pull failed: remember how (refused, out of reach), and tell the live coach when that changed."""
        if answer == self.clinic_answer:
            return
        self.clinic_answer = answer
        if self.on_clinic_answer is not None:
            try:
                self.on_clinic_answer()
            except Exception:  # the coach's trouble must not stop the uploads; the log says what it was
                log.exception("sync: the live coach could not say how the clinic answered")

    def note_plan_in_use(self) -> None:
        """Remember the plan the live coach read as romcam started: a later pull that changes it (the PT
        edited, ended or added a prescription) is handed to the running coach (``on_plan_change``) and said
        on the link panel (``plan_changed_at``)."""
        with self.store.session() as db:
            self.plan_in_use = self._coached_signature(db)
            self._plan_withheld = plan_withheld(db, self.fp)

    def _coached_signature(self, db) -> frozenset[tuple[uuid.UUID, int]]:  # type: ignore[no-untyped-def]
        """The plan the live coach follows: the stored one, or none while it is another token's patient's
        (:func:`romcam.sync.plan.plan_withheld`: once the clinic answers this token, its patient's plan is taken)."""
        if plan_withheld(db, self.fp):
            return frozenset()
        return plan_signature(db, self.store.local_patient_id)

    # ------------------------------------------------------------------ uploads

    def _fail(self, message: str | None) -> None:
        """Back off after a failure (``message``: the error to show, when not yet recorded)."""
        self._failures += 1
        self._retry_at = time.monotonic() + backoff_delay(self._failures, base=self.settings.backoff_base_s,
                                                          cap=self.settings.backoff_cap_s)
        if message:
            self._error(message)

    def _send(self, item: OutboxItem, state: LinkState) -> str | None:
        """Send one item; the sha256 of what the clinic took."""
        with self.store.session() as db:
            if item.kind == "session":
                row = db.get(OutboxItem, item.id)
                if row is not None and row.clock_off_s is None:  # fixed before the first try: every retry is the same
                    row.clock_off_s = float(self.clock_off_s() or 0)
                    db.commit()
                off = row.clock_off_s if row is not None else None
                doc = clinic_document(db, item.object_id, clinic_patient_id=state.clinic_patient_id,  # type: ignore[arg-type]
                                      managed_rx=set(state.managed_rx or []),
                                      clock_off_s=round(off) if off else None)
                self.client.upload_session(doc.canonical_json())
                return doc.sha256()
            body = checkin_document(db, item.object_id)
        self.client.upload_checkin(str(item.session_id), str(item.object_id), body)
        return None

    def upload_due(self) -> int:
        """Send what is pending (consent given, the clinic's patient known); returns how many were sent."""
        with self.store.session() as db:
            state = self._state(db)
            db.commit()
            if not self.consented(state) or state.clinic_patient_id is None:
                return 0
            items = outbox.due(db, state.clinic_patient_id, link_fp=self.fp)
        sent, failed = 0, False
        for item in items:
            if self._stop.is_set() or not self._still_consented():
                break  # a consent withdrawn mid-batch stops the very next upload
            try:
                digest = self._send(item, state)
            except ClinicError as exc:
                with self.store.session() as db:
                    row = db.get(OutboxItem, item.id)
                    if row is not None:
                        row.attempts += 1
                        row.last_attempt_at, row.last_error = _now(), exc.message
                        if exc.kind == "rejected":
                            row.state = "rejected"
                        db.commit()
                if exc.kind == "rejected":
                    self.unreachable = ""  # it answered
                    self._error(f"one session was refused and is kept on this laptop: {exc.message}")
                    continue
                first, failed = not failed, True
                # out of reach: no answer at all, or none twice in a row (one answer missing, a 5xx or a timeout, may
                # be that one session's trouble: said apart as failing, while the others go); a refused key answered
                self.unreachable = (_reason(exc.message) if exc.kind == "offline" and (not first or exc.status is None)
                                    else "" if exc.kind == "auth" else self.unreachable)
                if first:
                    self._fail(_plain_clinic(exc, self._new_key_steps))
                self.token_refused = exc.kind == "auth"  # after the error it comes with (see pull_plan)
                if first and exc.kind == "offline":
                    # the next one is tried once: this one may be the trouble (a session too big to send within the
                    # timeout on a slow line, one the clinic fails on), and, always the oldest, it held back every
                    # session behind it for good; a second failure in a row is the clinic out of reach
                    continue
                break
            except Exception as exc:  # a row this laptop cannot turn into a document: keep it, go on
                why = _plain(exc)
                with self.store.session() as db:
                    row = db.get(OutboxItem, item.id)
                    if row is not None:
                        row.state, row.last_error = "rejected", f"could not prepare it: {why}"[:1000]
                        db.commit()
                self._error(f"one session could not be prepared for upload and is kept on this laptop: {why}")
                continue
            with self.store.session() as db:
                row = db.get(OutboxItem, item.id)
                if row is not None:
                    row.state, row.sent_at, row.sent_sha256 = "sent", _now(), digest
                    row.sent_to = state.clinic_patient_id
                    row.attempts += 1
                    row.last_attempt_at, row.last_error = row.sent_at, ""
                st = self._state(db)
                st.last_upload_at = _now()
                st.last_error, st.last_error_at = "", None
                db.commit()
            if not failed:  # one that keeps failing still backs the link off, while the others go
                self._failures = 0
            self.token_refused = False
            self.unreachable = ""
            sent += 1
        return sent

    # ------------------------------------------------------------------ the clinic still holds what was sent?

    def _not_held(self, ask: Callable[[str, list[str]], set[str]], what: str, ids: list[uuid.UUID],
                  patient: str) -> list[uuid.UUID] | None:
        """The ids among ``ids`` the clinic does not hold, asked in batches; None when it could not say
        (offline: asked again next round; a clinic too old to answer: raises :class:`_CannotSay`)."""
        missing: list[uuid.UUID] = []
        for start in range(0, len(ids), AUDIT_BATCH):
            batch = ids[start:start + AUDIT_BATCH]
            try:
                held = ask(patient, [str(i) for i in batch])
            except ClinicError as exc:
                if exc.kind == "rejected":
                    log.info("sync: %s cannot say which %s it holds (%s): not asked again until the next start",
                             self.link.clinic, what, exc.message)
                    raise _CannotSay from None
                return None
            missing += [i for i in batch if str(i) not in held]
        return missing

    def audit_sent(self) -> int | None:
        """Ask the clinic which of the sessions marked sent it holds, and queue the others again with their
        check-ins (a clinic restored from a backup made before they arrived has lost them, and this
        laptop's "sent" would otherwise be final); then which of the check-ins marked sent, of sessions it
        holds, it holds, and queue the others again (a backup made between a session and its check-in).
        Returns how many sessions and lone check-ins are sent again; None when the clinic could not be
        asked (offline: the next round asks; a clinic too old to answer: not again until the next start)."""
        with self.store.session() as db:
            state = self._state(db)
            db.commit()
            if not self.consented(state) or state.clinic_patient_id is None:
                return None
            sent = outbox.sent_sessions(db, state.clinic_patient_id)
        patient = str(state.clinic_patient_id)
        try:
            missing = self._not_held(self.client.sessions_held, "sessions", sent, patient)
        except _CannotSay:
            self._audit_at = math.inf
            return None
        if missing is None:
            return None
        with self.store.session() as db:
            n = outbox.send_again(db, missing)
            checkins = outbox.sent_checkins(db, state.clinic_patient_id) if self._audit_checkins else []
        if n:
            log.warning("sync: %s no longer holds %d session(s) it took before (restored from a backup?): "
                        "sending them again", self.link.clinic, n)
        if not checkins:
            return n
        try:
            lost = self._not_held(self.client.checkins_held, "check-ins", checkins, patient)
        except _CannotSay:
            self._audit_checkins = False
            return n
        if lost is None:
            return None
        with self.store.session() as db:
            k = outbox.send_checkins_again(db, lost)
        if k:
            log.warning("sync: %s no longer holds %d check-in(s) it took before (restored from a backup?): "
                        "sending them again", self.link.clinic, k)
        return n + k

    # ------------------------------------------------------------------ loop

    def step(self) -> None:
        """One round: pull the plan when due, queue what is ready, send when allowed."""
        mono = time.monotonic()
        with self.store.session() as db:
            outbox.enqueue_pending(db, patient_id=self.store.local_patient_id, orphans=self.orphans, now=_now(),
                                   link_fp=self.fp)
        if mono >= self._offer_at:  # a session dated ahead by a wrong clock is taken once that day has come
            self.offer_refused_again()
            self._offer_at = mono + self.settings.audit_every_s
        if self._plan_due(mono) and mono >= self._retry_at:
            if self.pull_plan():
                self._plan_pulled_at = mono
            else:
                self._fail(None)  # pull_plan recorded why
                return
        if time.monotonic() >= self._retry_at and time.monotonic() >= self._audit_at:
            if self.audit_sent() is not None:
                self._audit_at = time.monotonic() + self.settings.audit_every_s
        if time.monotonic() >= self._retry_at:
            self.upload_due()

    def _plan_due(self, mono: float) -> bool:
        """Whether to pull the plan now: at start, then every ``plan_every_s``, or every ``session_plan_every_s``
        while the live coach runs a session (a PT who lowers a safe limit at the clinic must not wait 15 minutes,
        longer than a session, for it to count)."""
        if self._plan_pulled_at is None:
            return True
        every = self.settings.plan_every_s
        if self.in_session is not None:
            try:
                running = self.in_session()
            except Exception:  # the coach's trouble must not stop the uploads
                running = False
            if running:
                every = min(every, self.settings.session_plan_every_s)
        return mono >= self._plan_pulled_at + every

    def offer_refused_again(self) -> int:
        """At start and every ``audit_every_s``: what the clinic refused goes back in the queue (see
        :mod:`romcam.sync.outbox`)."""
        with self.store.session() as db:
            n = outbox.offer_refused_again(db)
        if n:
            log.info("sync: %d item(s) the clinic refused before are offered again", n)
        return n

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:  # the database busy or gone for a moment: say so, try again
                log.warning("sync: %s", exc)
                try:
                    self._fail(f"the upload stopped on an error: {type(exc).__name__}")
                except Exception:
                    pass
            self._wake.wait(self.settings.poll_s)
            self._wake.clear()

    def wake(self) -> None:
        """Look at the outbox now (after a consent, or a session just saved); a backoff still holds."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="romcam-sync", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.timeout_s + 5)
            self._thread = None


def session_ids_sent(store: Store) -> dict[uuid.UUID, str]:
    """Session id → the sha256 of the document the clinic took (tests and the status page)."""
    from sqlalchemy import select

    with store.session() as db:
        rows = db.execute(select(OutboxItem.object_id, OutboxItem.sent_sha256)
                          .where(OutboxItem.kind == "session", OutboxItem.state == "sent"))
        return {oid: sha for oid, sha in rows}
