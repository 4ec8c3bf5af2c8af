"""The running coach follows the PT's current plan (docs/live.md "The PT changes the plan"): between sets the
new plan is taken whole, the patient keeping their place; during a set only a safer limit takes over at once."""

from __future__ import annotations

import math

import pytest

from romcam.live.coach import (
    REST_BETWEEN_S,
    Coach,
    FrameInput,
    PlanItem,
    describe_changes,
    plan_change_words,
    safer_limits,
)

DT = 1 / 30


def rx(pid: str, version: int = 1, **kw: object) -> PlanItem:
    base = dict(exercise="shoulder_flexion", side="left", exercise_name="Shoulder flexion", target_min=90.0,
                target_max=130.0, safe_max=140.0, reps=2, hold_s=0.0, noise_deg=3.0, safe_noise_deg=3.0,
                view="side", joint="shoulder", prescription_id=pid, version=version)
    return PlanItem(**(base | kw))  # type: ignore[arg-type]


ELBOW = dict(exercise="elbow_flexion", exercise_name="Elbow flexion", target_min=100.0, target_max=140.0,
             safe_max=150.0, joint="elbow")


class Run:
    def __init__(self, coach: Coach) -> None:
        self.coach, self.t, self.rep, self.outs = coach, 0.0, 0, []

    def frames(self, seconds: float, angle: float = 20.0, *, raw: float | None = None, rep_state: str = "rest") -> list:
        out = []
        for _ in range(max(1, round(seconds / DT))):
            self.t += DT
            out.append(self.coach.update(FrameInput(t=self.t, angle=angle, raw=angle if raw is None else raw,
                                                    has_subject=True, rep=self.rep, rep_state=rep_state)))
        self.outs += out
        return out

    def rep_cycle(self, peak: float) -> list:
        out = self.frames(0.5, (20 + peak) / 2, rep_state="moving_out")
        out += self.frames(0.8, peak, rep_state="at_peak")
        out += self.frames(0.5, (20 + peak) / 2, rep_state="returning")
        self.rep += 1
        return out + self.frames(0.5, 20.0)

    @property
    def cues(self) -> list[str]:
        return [o.cue for o in self.outs if o.cue]


def acts(outs: list) -> list:
    return [a for o in outs for a in o.actions]


def test_a_lower_safe_maximum_stops_at_once_during_a_set() -> None:
    coach = Coach([rx("a", reps=5)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 100)
    out = run.frames(0.3, 128)  # under the old 140: no stop
    assert all(o.zone != "above_safe_max" for o in out)
    assert coach.take_plan([rx("a", 2, safe_max=120.0, target_max=115.0, reps=8)]) == []
    # the safer limit at once; the target and the reps wait for the set's end
    assert (coach.item.safe_max, coach.item.target_max, coach.item.reps, coach.item.version) == (120.0, 130.0, 5, 2)
    assert coach.limits_changed_in_set
    assert coach.plan_note == (1, "Your PT changed your plan: shoulder flexion: safe maximum now 120°.")
    out = run.frames(4 * DT, 128)
    assert out[-1].zone == "above_safe_max" and "stop, come back down" in run.cues
    assert coach.state == "exercising"


def test_a_looser_limit_waits_for_the_set_s_end_and_then_the_rest_is_said() -> None:
    coach = Coach([rx("a", reps=1), rx("b", **ELBOW)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 100)
    coach.take_plan([rx("a", 2, safe_max=150.0, reps=1, hold_s=5.0), rx("b", **ELBOW)])
    assert coach.item.safe_max == 140.0 and coach.plan_note is None  # nothing taken yet, nothing said yet
    out = run.frames(4 * DT, 145)
    assert out[-1].zone == "above_safe_max"  # still the old, safer limit
    run.frames(0.5, 20)
    out = run.rep_cycle(120)
    assert ("end_set", 0) in acts(out) and coach.state == "resting"
    assert coach.plan_note == (1, "Your PT changed your plan: shoulder flexion: safe maximum now 150°, "
                                  "hold 5 seconds now.")
    # the set done stays as it was coached (its list entry too); the next exercise comes from the new plan
    assert coach.plan[0].safe_max == 140.0 and [p.prescription_id for p in coach.plan] == ["a", "b"]


def test_between_exercises_the_new_plan_is_taken_and_sets_done_stay_done() -> None:
    coach = Coach([rx("a", reps=1), rx("b", **ELBOW), rx("c", exercise="shoulder_abduction",
                                                           exercise_name="Shoulder abduction", view="front")])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 100)
    out = run.rep_cycle(120)
    assert ("end_set", 0) in acts(out) and coach.state == "resting"
    # the PT ended b (the next one), lowered a's limit (done already) and added d
    new = [rx("a", 2, safe_max=120.0, reps=1), rx("c", exercise="shoulder_abduction",
                                                  exercise_name="Shoulder abduction", view="front"),
           rx("d", exercise="hip_flexion", exercise_name="Hip flexion", side="right")]
    assert coach.take_plan(new) == []
    assert [p.prescription_id for p in coach.plan] == ["a", "c", "d"]
    assert coach.plan[0].version == 1  # the set done stays as it was done
    assert coach.index == 0 and coach.state == "resting"
    words = coach.plan_note[1] if coach.plan_note else ""
    assert words == ("Your PT changed your plan: shoulder flexion: safe maximum now 120°; hip flexion: new; "
                     "elbow flexion: no longer in your plan.")
    run.rep = 0
    out = run.frames(REST_BETWEEN_S + 0.5)
    assert ("begin_set", 1) in acts(out) and coach.item.prescription_id == "c"


def test_an_ended_prescription_s_set_finishes_and_is_not_offered_again() -> None:
    coach = Coach([rx("a", reps=2), rx("b", **ELBOW)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 100)
    run.rep_cycle(120)
    coach.take_plan([rx("b", **ELBOW)])  # a ended while its set runs
    assert coach.item.prescription_id == "a" and coach.state == "exercising"  # the set goes on
    out = run.rep_cycle(120)
    assert ("end_set", 0) in acts(out)
    assert [p.prescription_id for p in coach.plan] == ["a", "b"]  # a stays as done; b next
    # everything left ended too, while resting: the session is complete
    out_actions = coach.take_plan([])
    assert out_actions == [("end_session", "complete")] and coach.state == "done"
    assert "no longer in your plan" in (coach.plan_note[1] if coach.plan_note else "")


def test_before_start_the_new_plan_is_taken_whole() -> None:
    coach = Coach([rx("a")])
    assert coach.take_plan([rx("b", **ELBOW), rx("a", 2, mode="passive")]) == [("set_up", 0)]
    assert [p.prescription_id for p in coach.plan] == ["b", "a"] and coach.item.exercise == "elbow_flexion"
    assert coach.plan_note == (1, "Your PT changed your plan: elbow flexion: new; shoulder flexion: now passive: "
                                  "a helper moves the limb.")
    with pytest.raises(ValueError):
        coach.take_plan([])


def test_the_same_plan_again_says_nothing() -> None:
    coach = Coach([rx("a")])
    coach.take_plan([rx("a")])
    assert coach.plan_note is None


def test_safer_limits_takes_only_the_safer_ends() -> None:
    cur = rx("a", safe_max=140.0, safe_min=10.0)
    assert safer_limits(cur, rx("a", 2, safe_max=150.0, safe_min=20.0)) == rx("a", 2, safe_max=140.0, safe_min=20.0)
    assert safer_limits(cur, rx("a", 2, safe_max=150.0, safe_min=None)) is cur
    assert safer_limits(rx("a", safe_max=None), rx("a", 2, safe_max=130.0)).safe_max == 130.0


def test_change_words_are_short_and_capped() -> None:
    old = [rx(str(i)) for i in range(6)]
    new = [rx(str(i), 2, reps=10) for i in range(6)]
    changes = describe_changes(old, new)
    assert changes[0] == "shoulder flexion: 10 repetitions now"
    assert plan_change_words(changes).endswith("; and 2 more changes.")
    assert math.isclose(len(changes), 6)


# ---------------------------------------------------------------- the worker, the sync pull and the store

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}


def _device(rx_id: object, version: int = 1, **changes: object) -> dict:
    return {"patient_id": "00000000-0000-4000-8000-00000000c11c", "patient_name": "Ada Clinic",
            "plan": [{"id": str(rx_id), "version": version, "created_at": "2026-11-20T09:00:00+00:00", **KNEE,
                      **changes}]}


def test_a_clinic_pull_that_lowers_the_safe_maximum_reaches_the_running_set_and_files_it(tmp_path) -> None:
    """A linked laptop: the sync worker's pull (the clinic's answer given, the rest real: SQLite, the plan
    stored as local prescriptions, the capture worker and its recorder) hands the new plan to the running
    coach, which stops at the new safe maximum at once and files the set under the version that set it."""
    import uuid

    from romcam.live.capture import CaptureWorker, LiveOptions
    from romcam.live.plan import plan_from_store, todays_plan
    from romcam.live.recorder import Recorder
    from romcam.store import Store
    from romcam.store.models import ExerciseSet
    from romcam.sync.config import LinkConfig
    from romcam.sync.worker import SyncWorker

    store = Store(f"sqlite:///{tmp_path / 'laptop.db'}")
    try:
        sync = SyncWorker(store, LinkConfig("http://127.0.0.1:9", "romcam_dt_" + "x" * 40))
        rx = uuid.uuid4()
        answers = [_device(rx)]
        sync.client.device = lambda timeout=None: answers[-1]  # type: ignore[method-assign]
        assert sync.pull_plan()
        recorder = Recorder(store, patient_id=store.local_patient_id, source="test", demo=False, model="")
        published: list[dict] = []
        worker = CaptureWorker(LiveOptions(source=None), todays_plan(store), recorder=recorder,
                               publish=published.append, plan_source=lambda: plan_from_store(store))
        sync.note_plan_in_use()
        sync.on_plan_change = worker.follow_plan
        assert worker.coach.item.safe_max == 135
        assert sync.pull_plan() and worker.coach.plan_note is None  # the same plan: nothing to say

        worker.command("start")
        answers.append(_device(rx, 2, safe_max=125, target_max=115))
        assert sync.pull_plan()
        item = worker.coach.item
        assert (item.safe_max, item.target_max, item.version) == (125, 120, 2)  # the limit now, the target later
        assert sync.status().plan_changed_at is not None
        change = published[-1]["plan_change"]
        assert change["text"] == "Your PT changed your plan: knee flexion: safe maximum now 125°."
        out = None
        for k in range(4):  # the coach's stop at the new limit, on the unsmoothed angle
            out = worker.coach.update(FrameInput(t=1.0 + k / 30, angle=128.0, raw=128.0, has_subject=True))
        assert out is not None and out.zone == "above_safe_max"
        worker.command("stop")
        sid = worker.last_session_id
        with store.session() as db:
            (row,) = db.query(ExerciseSet).filter_by(session_id=sid).all()
            assert (row.prescription_id, row.prescription_version) == (rx, 2)
    finally:
        store.close()


def test_with_exercise_given_the_coach_follows_no_plan(tmp_path) -> None:
    from romcam.live.capture import CaptureWorker, LiveOptions
    from romcam.live.plan import measure_only

    worker = CaptureWorker(LiveOptions(source=None, exercise="elbow_flexion", side="left"),
                           [measure_only("elbow_flexion", "left")], recorder=None)
    assert worker.follow_plan() is False and worker.plan[0].exercise == "elbow_flexion"


def test_everything_left_ended_while_the_camera_is_lost_in_a_rest_ends_the_session() -> None:
    coach = Coach([rx("a", reps=1), rx("b", **ELBOW)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 100)
    run.rep_cycle(120)
    assert coach.state == "resting"
    coach.source_lost()
    assert coach.take_plan([rx("a", reps=1)]) == [("end_session", "complete")] and coach.state == "done"
    run.frames(REST_BETWEEN_S + 0.5)  # no next exercise to go to: nothing breaks
    assert coach.state == "done" and coach.index == 0


def test_while_a_session_runs_the_clinics_plan_is_pulled_every_minute(tmp_path, monkeypatch) -> None:
    """A PT who lowers a safe maximum at the clinic: a session lasts 10-15 minutes, the plan pull came every 15,
    so the new limit could miss the whole session. While the coach runs one (Start pressed, not finished) the
    plan is pulled every ``session_plan_every_s`` (60 s); before Start and after the end, every ``plan_every_s``."""
    import types
    import uuid

    from romcam.live.capture import CaptureWorker, LiveOptions
    from romcam.live.plan import plan_from_store, todays_plan
    from romcam.store import Store
    from romcam.sync import worker as worker_module
    from romcam.sync.config import LinkConfig
    from romcam.sync.worker import SyncWorker

    store = Store(f"sqlite:///{tmp_path / 'laptop.db'}")
    try:
        sync = SyncWorker(store, LinkConfig("http://127.0.0.1:9", "romcam_dt_" + "x" * 40))
        rx_id = uuid.uuid4()
        answers = [_device(rx_id)]
        pulls: list[float] = []
        clock = [1000.0]

        def device(timeout: float | None = None) -> dict:
            pulls.append(clock[0])
            return answers[-1]

        sync.client.device = device  # type: ignore[method-assign]
        monkeypatch.setattr(worker_module, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
        sync.audit_sent = lambda: 0  # type: ignore[method-assign]  # nothing to send or ask about here
        sync.upload_due = lambda: None  # type: ignore[method-assign]
        assert sync.pull_plan()
        worker = CaptureWorker(LiveOptions(source=None), todays_plan(store), recorder=None,
                               plan_source=lambda: plan_from_store(store))
        sync.note_plan_in_use()
        sync.on_plan_change, sync.in_session = worker.follow_plan, worker.in_session

        def run(minutes: int) -> list[float]:
            """The worker's rounds every 5 s (its poll) for ``minutes``: the times it pulled the plan."""
            pulls.clear()
            for _ in range(minutes * 12):
                sync.step()
                clock[0] += 5.0
            return list(pulls)

        assert len(run(20)) == 2  # waiting for Start: at once, then 15 minutes later
        worker.command("start")
        during = run(10)
        assert len(during) == 10 and all(b - a == 60.0 for a, b in zip(during, during[1:], strict=False)), during
        answers.append(_device(rx_id, 2, safe_max=125))
        run(1)
        assert worker.coach.item.safe_max == 125  # the PT's lower limit counts within the minute
        worker.command("stop")
        assert len(run(20)) <= 2  # the session over: every 15 minutes again
    finally:
        store.close()


def test_after_the_session_is_done_a_change_is_told_once_for_the_next_session() -> None:
    coach = Coach([rx("a", reps=1)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 100)
    run.rep_cycle(120)
    run.frames(REST_BETWEEN_S + 0.5)
    assert coach.state == "done" and coach.plan_note is None
    assert coach.take_plan([rx("a", 2, reps=1, safe_max=125.0)]) == []  # nothing to do now: the session is over
    assert coach.plan_note == (1, "Your PT changed your plan: shoulder flexion: safe maximum now 125° (next session).")
    assert coach.plan_note_next_session and coach.item.safe_max == 140.0  # the session's plan stays as it was done
    assert coach.take_plan([rx("a", 2, reps=1, safe_max=125.0)]) == [] and coach.plan_note[0] == 1  # said once
    coach.take_plan([rx("a", 3, reps=1, safe_max=125.0), rx("b", **ELBOW)])  # only what changed since
    assert coach.plan_note == (2, "Your PT changed your plan: elbow flexion: new (next session).")


def test_a_plan_that_arrives_where_there_was_none_is_not_called_a_change() -> None:
    """A re-linked laptop measures only until the clinic answers its new token; then the new patient's plan
    arrives. The patient is told it arrived, not that their PT changed their plan."""
    from romcam.live.plan import measure_only

    coach = Coach([measure_only("shoulder_abduction", "left")])
    coach.take_plan([rx("a"), rx("b", **ELBOW)], arrived=True)
    assert coach.plan_note == (1, "Your PT's plan has arrived: shoulder flexion, elbow flexion.")
    coach.take_plan([rx("a", 2, safe_max=120.0), rx("b", **ELBOW)])  # a later change is one
    assert coach.plan_note == (2, "Your PT changed your plan: shoulder flexion: safe maximum now 120°.")
