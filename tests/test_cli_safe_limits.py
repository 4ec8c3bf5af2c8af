"""`romcam analyze --safe-max DEG --safe-min DEG` (issue 6): the limits are checked against each other and the
target before the video is read, each rep past one is flagged in the JSON and said in the summary, and with
``--save`` they come from the patient's prescription unless given. Real ``romcam analyze`` on the rendered
demo clip (left shoulder abduction, the arm rising to about 135° three times), a real SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from romcam.cli import main
from romcam.store import Store, service


@pytest.mark.parametrize("flags, says", [
    (["--safe-min", "50", "--safe-max", "40"], "--safe-min 50° is not below --safe-max 40°"),
    (["--target", "130", "--safe-max", "120"], "--target 130° is past --safe-max 120°"),
    (["--target", "-10", "--safe-min", "-5"], "--target -10° is past --safe-min -5°"),
])  # fmt: skip
def test_limits_that_contradict_each_other_are_a_usage_error(demo_clip: Path, capsys, flags, says) -> None:
    assert main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "-q", *flags]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"romcam: {says}") and err.count("\n") == 1, err
    assert not out  # refused before the video is read


def test_a_limit_that_is_not_an_angle_is_refused_by_argparse(demo_clip: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "-q", "--safe-max", "x"])
    assert stop.value.code == 2
    assert "argument --safe-max: 'x' is not a number of degrees" in capsys.readouterr().err


def test_analyze_flags_the_reps_past_the_safe_maximum(demo_clip: Path, tmp_path: Path, capsys) -> None:
    """The rendered clip's arm rises to about 135° three times: a safe maximum of 100° is passed at each rep."""
    out = tmp_path / "out.json"
    code = main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "-q",
                 "--safe-max", "100", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    full = [r for r in doc["reps"] if not r["partial"]]
    assert len(full) == 3 and all(r["max_angle"] > 110 for r in full), doc["reps"]
    assert [r["past_safe"] for r in full] == ["max"] * 3
    assert (doc["safe_max"], doc["safe_min"], doc["past_safe"]) == (100, None, "max")
    assert ("for you: repetitions 1, 2, 3 went past your safe limit of 100° (the PT's safe maximum): stop there "
            "next time") in text, text


def test_analyze_save_takes_the_safe_limits_from_the_plan(demo_clip: Path, tmp_path: Path, capsys) -> None:
    """With --save, the prescription's safe maximum is the limit unless --safe-max is given; a --target past
    the plan's safe maximum is refused before the video is read."""
    db_url = f"sqlite:///{tmp_path / 'romcam.db'}"
    store = Store(db_url)
    try:
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            service.create_prescription(db, me, {
                "exercise": "shoulder_abduction", "side": "left", "mode": "active", "posture": "standing",
                "target_min": 90, "target_max": 110, "safe_max": 120, "reps": 3, "hold_s": 0,
                "sessions_per_week": 3})
        base = ["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "-q", "--save",
                "--db", db_url]
        assert main([*base, "--target", "125"]) == 2
        err = capsys.readouterr().err
        assert "--target 125° is past the plan's safe maximum (120°)" in err, err
        out = tmp_path / "plan.json"
        assert main([*base, "--json", str(out)]) == 0
        captured = capsys.readouterr()
        assert "target 90° to 110°, safe maximum 120°" in captured.err, captured.err
        doc = json.loads(out.read_text())
        assert doc["safe_max"] == 120 and doc["target"] == 90
        assert [r["past_safe"] for r in doc["reps"] if not r["partial"]] == ["max"] * 3  # the arm rises to ~135°
        assert "went past your safe limit of 120°" in captured.out, captured.out
        given = tmp_path / "given.json"
        assert main([*base, "--safe-max", "150", "--json", str(given)]) == 0  # given: the flag wins
        capsys.readouterr()
        assert json.loads(given.read_text())["safe_max"] == 150
        assert all(r["past_safe"] is None for r in json.loads(given.read_text())["reps"])
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            assert len(service.list_sessions(db, me)) == 2  # both saved: the flag does not stop the session
    finally:
        store.close()
