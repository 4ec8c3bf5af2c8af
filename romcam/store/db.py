"""Opening the database: URL resolution, SQLite pragmas, Alembic ``upgrade head`` on start-up.

SQLite is the embedded default (``<data dir>/romcam.db``, WAL, foreign keys on every connection);
PostgreSQL through a ``postgresql://`` URL (driven by psycopg 3).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .errors import STORAGE_FIX, UNREACHABLE, DatabaseError, storage_cause
from .models import Patient

ALEMBIC_DIR = Path(__file__).with_name("alembic")
LOCAL_PATIENT_NAME = "Me"
CONNECT_TIMEOUT_S = 5  # PostgreSQL: give up a connection attempt after this long


def data_dir() -> Path:
    """``$ROMCAM_DATA`` or ``~/.local/share/romcam``."""
    env = os.environ.get("ROMCAM_DATA")
    return Path(env).expanduser() if env else Path.home() / ".local" / "share" / "romcam"


def default_url(directory: Path | None = None) -> str:
    return f"sqlite:///{(directory or data_dir()) / 'romcam.db'}"


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url``, else ``$ROMCAM_DB``, else SQLite in the data directory.
    ``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver romcam ships with)."""
    url = url or os.environ.get("ROMCAM_DB") or default_url()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def parse_url(url: str) -> URL:
    """``url`` parsed, or a :class:`DatabaseError` that says what a database URL looks like."""
    try:
        return make_url(url)
    except ArgumentError:
        raise DatabaseError(f"cannot read database URL {url!r}: use sqlite:///PATH or "
                            "postgresql://USER@HOST/DB") from None


def is_in_memory(url: str) -> bool:
    """An SQLite database in this process's memory (``sqlite://``, ``sqlite:///:memory:``, a
    ``file:...?mode=memory`` URI): gone when it exits."""
    parsed = parse_url(url)
    return parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory")


def make_engine(url: str) -> Engine:
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # a database host gone from the network fails a connection in seconds, not the OS's minutes: the
        # live recorder tries again every second from the capture thread (romcam/live/recorder.py)
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    raise DatabaseError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision shipped with romcam (no alembic.ini needed)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_problem(url: str, exc: BaseException) -> DatabaseError:
    """Why the database at ``url`` could not be opened, and what to do, from what opening it raised."""
    where = make_url(url).render_as_string()
    folder = _unwritable_folder(url)
    if folder is not None:  # SQLite's own words would be "readonly database" or "unable to open database file"
        return DatabaseError(f"cannot open the database {where}: the folder {folder} is not writable — SQLite "
                             "creates its journal and lock files beside the database, so romcam must be able to "
                             f"write in that folder: make it writable (chmod u+w {folder}), or give --db (or "
                             "ROMCAM_DB, or ROMCAM_DATA for the default) a file in a folder you may write to")
    cause = storage_cause(exc)
    detail = str(getattr(exc, "orig", None) or (exc.strerror if isinstance(exc, OSError) else None) or exc)
    detail = " ".join(detail.split())  # one line: libpq's own message is several (the error, then a hint)
    if cause is not None and cause != UNREACHABLE:
        return DatabaseError(f"cannot open the database {where}: {cause} — {STORAGE_FIX[cause]}")
    if "disk i/o error" in detail.lower():
        return DatabaseError(f"cannot open the database {where}: the disk could not be written ({detail}) — free "
                             "some space, or give --db a file on another disk")
    if "not a database" in detail.lower():
        return DatabaseError(f"cannot open the database {where}: the file is not a database ({detail}) — give "
                             "--db (or ROMCAM_DB) another file")
    if isinstance(exc, OSError):
        return DatabaseError(f"cannot open the database {where}: {detail} — give --db (or ROMCAM_DB, or "
                             "ROMCAM_DATA for the default) a place romcam may write to")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and "unable to open database file" in detail.lower():
        # a file, not a server: say what is wrong with the path instead of asking whether a server runs
        path = Path(parsed.database).expanduser()
        if path.is_dir():
            return DatabaseError(f"cannot open the database {where}: {path} is a folder — give --db a file in it, "
                                 f"e.g. sqlite:///{path / 'romcam.db'}")
        return DatabaseError(f"cannot open the database {where}: {detail} — romcam cannot create or open {path}: "
                             "give --db (or ROMCAM_DB, or ROMCAM_DATA for the default) a place romcam may write to")
    return DatabaseError(f"cannot open the database {where}: {detail} — check --db / ROMCAM_DB and that the "
                         "server is running")


def _unwritable_folder(url: str) -> Path | None:
    """For a SQLite file database: the folder it is in (or, not made yet, the nearest one above that is)
    when this process may not write in it; else None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or is_in_memory(url):
        return None
    folder = Path(parsed.database).expanduser().absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return None
    writable = os.access(folder, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids)
    return None if writable else folder


class Store:
    """The opened database: ``with store.session() as db: ...`` for a unit of work."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        try:
            self.engine = make_engine(self.url)
        except OSError as exc:  # the SQLite file's folder cannot be made
            raise open_problem(self.url, exc) from None
        try:
            migrate(self.engine)
        except (DBAPIError, OSError) as exc:
            self.engine.dispose()
            raise open_problem(self.url, exc) from None
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.local_patient_id = self._ensure_local_patient()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessionmaker() as db:
            yield db

    def _ensure_local_patient(self):  # type: ignore[no-untyped-def]
        with self.sessionmaker() as db:
            patient = db.scalars(select(Patient).where(Patient.is_local).order_by(Patient.created_at)).first()
            if patient is None:
                patient = Patient(name=LOCAL_PATIENT_NAME, notes="", is_local=True)
                db.add(patient)
                db.commit()
            return patient.id

    def close(self) -> None:
        self.engine.dispose()
