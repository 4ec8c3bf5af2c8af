"""A mistyped patient id on the command line says where the id is found: the dashboard never prints a
patient's id as text, only in the address of the patient's page (…/patients/<id>)."""

from __future__ import annotations

from pathlib import Path

import pytest

from romcam.cli import main


@pytest.mark.parametrize("argv", [
    ["token", "create", "--patient", "Ann"],  # the name, not the id
    ["analyze", "clip.mp4", "--exercise", "elbow_flexion", "--save", "--patient", "Ann"],  # checked before the video
    ["user", "create", "--email", "ann@home.test", "--role", "patient", "--patient", "123"],
])  # fmt: skip
def test_a_patient_id_that_is_not_one_says_where_to_find_it(tmp_path: Path, capsys, argv: list[str]) -> None:
    code = main([*argv, "--db", f"sqlite:///{tmp_path / 'romcam.db'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1, err
    assert "is not a patient id" in err and "/patients/<id>" in err and "dashboard" in err, err
