"""A SQLite `--db` that cannot be opened: one line that says what is wrong with the path and what to do, exit 1,
and nothing read or written — never "check that the server is running" (SQLite has no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from romcam.cli import main


@pytest.mark.parametrize("command", [["analyze", "{clip}", "--exercise", "shoulder_abduction", "--save"],
                                     ["token", "create", "--patient", "00000000-0000-0000-0000-000000000001"],
                                     ["serve", "--no-live", "--port", "8729"]])
def test_a_folder_given_as_the_sqlite_database_says_so(command: list[str], tmp_path: Path, capsys) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the database is refused first")
    args = [a.replace("{clip}", str(clip)) for a in command] + ["--db", f"sqlite:///{folder}"]
    rc = main(args)
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err == (f"romcam: cannot open the database sqlite:///{folder}: {folder} is a folder — give --db a "
                   f"file in it, e.g. sqlite:///{folder / 'romcam.db'}"), err
    assert list(folder.iterdir()) == []
    assert clip.read_bytes() == b"not read: the database is refused first"
