"""A SQLite `--db` that cannot be opened: one line that says what is wrong with the path and what to do, exit 1,
and nothing read or written — never "check that the server is running" (SQLite has no server)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from romcam.cli import main
from romcam.store import Store


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


@contextmanager
def _as_another_user() -> Iterator[None]:
    """Root writes in any folder: as root, act as ``nobody`` meanwhile (the effective ids only, so that
    root's are taken back after); as anyone else, as oneself."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.mark.parametrize("name", ["romcam.db", "new.db"])  # the clinic's database, and one to be made
def test_a_read_only_folder_is_named_not_called_a_read_only_database(name: str, capsys) -> None:
    """A database file that may be written, in a folder that may not: SQLite cannot make its journal and
    lock files beside it and says "readonly database", which sent the user to the file. The folder is at
    fault; the message names it and what to do."""
    folder = Path(tempfile.mkdtemp(prefix="romcam-ro-", dir="/tmp"))  # not under root's private pytest folder
    url = f"sqlite:///{folder / 'romcam.db'}"
    try:
        Store(url).close()  # the database made (and romcam's modules loaded) as the folder's owner
        for f in folder.iterdir():
            f.chmod(0o666)
        folder.chmod(0o555)
        db = folder / name
        with _as_another_user():  # a command that may make the database (the first admin of a new clinic)
            rc = main(["user", "create", "--email", "admin@clinic.test", "--role", "admin", "--db", f"sqlite:///{db}"])
        err = capsys.readouterr().err
        assert rc == 1, err
        assert err == (f"romcam: cannot open the database sqlite:///{db}: the folder {folder} is not writable — "
                       "SQLite creates its journal and lock files beside the database, so romcam must be able to "
                       f"write in that folder: make it writable (chmod u+w {folder}), or give --db (or ROMCAM_DB, "
                       "or ROMCAM_DATA for the default) a file in a folder you may write to\n"), err
        assert sorted(p.name for p in folder.iterdir()) == ["romcam.db"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_demo_refuses_a_database_that_does_not_open_before_rendering(tmp_path: Path, capsys) -> None:
    """`romcam demo` rendered its clip (a minute) and analysed it before it found that `--db` does not open;
    it now opens the database first, as `analyze --save` does, and renders nothing."""
    folder = tmp_path / "data"
    folder.mkdir()
    out_dir = tmp_path / "demo"
    rc = main(["demo", "--db", f"sqlite:///{folder}", "--out-dir", str(out_dir)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert out == ""
    assert err.strip() == (f"romcam: cannot open the database sqlite:///{folder}: {folder} is a folder — give --db a "
                           f"file in it, e.g. sqlite:///{folder / 'romcam.db'}"), err
    assert not out_dir.exists()  # nothing rendered
    assert list(folder.iterdir()) == []


def test_a_postgresql_server_that_does_not_answer_is_one_line(tmp_path: Path, capsys) -> None:
    """libpq's message is two lines (the error, then "Is the server running on that host…" after a tab): the
    error came out as two lines, where every romcam error is one."""
    from helpers import free_port

    port = free_port()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the database is refused first")
    rc = main(["analyze", str(clip), "--exercise", "shoulder_abduction", "--save", "--db",
               f"postgresql://nobody@127.0.0.1:{port}/romcam"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert out == ""
    assert err.count("\n") == 1 and "\t" not in err, err
    assert err.startswith(f"romcam: cannot open the database postgresql+psycopg://nobody@127.0.0.1:{port}/romcam: "
                          "connection failed: "), err
    assert "Connection refused Is the server running on that host" in err, err
    assert err.endswith("— check --db / ROMCAM_DB and that the server is running\n"), err
