"""Which processes use a database: a running server holds a lock on it; ``romcam audit rekey`` must be alone.

``romcam audit rekey`` moves the audit log to a new secret key. A server still running on the previous key
would go on writing audit rows under the previous key's pseudonyms after the move, and those rows would be
hidden again. So every server holds, for its whole life (the app's lifespan), a **shared** lock on its
database — several servers on one PostgreSQL database (workers) share it — and rekey takes the same lock
**exclusively**, or refuses: :data:`SERVER_RUNNING`.

The operating system or the database releases the lock when the process dies, so a crashed or killed
server never blocks a rekey:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock_shared`` for a server,
  ``pg_try_advisory_lock`` for rekey) on a connection of its own, outside the pool and in autocommit (no
  transaction stays open beside it); the database releases it when that connection ends.
- SQLite: ``flock`` (``LOCK_SH`` / ``LOCK_EX``) on a file beside the database, ``<database>.lock``.
- An in-memory SQLite database is this process's own: nothing to lock.

A ``flock`` lasts as long as its file is open, but PostgreSQL's lock lasts as long as its connection: a database
restart or a network cut drops it, and the server runs on unlocked. So the server checks it (:meth:`Held.alive`,
every :data:`CHECK_S` seconds, ``romcam.server.app``) and takes it again; and every audit row it writes takes the
same lock for its own transaction and checks the log's key under it (``audit.record``), so no row is ever written
under a key the log has been moved away from, even in the moments before the check.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from .db import CONNECT_TIMEOUT_S, is_in_memory, open_problem, resolve_url
from .errors import StoreError

# the advisory lock's key, one per database (PostgreSQL keeps advisory locks per database): the first 8 bytes of
# SHA-256("romcam server"), as a signed bigint
ADVISORY_KEY = 8433454172251249428

SERVER_RUNNING = "a romcam server is using this database: stop it, then run rekey again"
REKEY_RUNNING = ("`romcam audit rekey` is moving this database's audit log to a new key right now: wait for it to "
                 "finish, then start the server again (with the new ROMCAM_SECRET_KEY)")

Mode = Literal["shared", "exclusive"]

CHECK_S = 5.0  # how often a server checks that it still holds its lock (a PostgreSQL connection can drop)
APPLICATION_NAME = {"shared": "romcam server lock", "exclusive": "romcam audit rekey"}  # in pg_stat_activity


class DatabaseInUseError(StoreError):
    """The lock could not be taken: a server runs (for rekey), or a rekey runs (for a server)."""


class Held(Protocol):
    def alive(self) -> bool:
        """Whether the lock is still held (False once released, or when its database connection dropped)."""
        ...

    def release(self) -> None: ...


class _Nothing:
    def alive(self) -> bool:
        return True

    def release(self) -> None:
        pass


class _Lost:
    """A lock whose connection dropped, released, not held again yet."""

    def alive(self) -> bool:
        return False

    def release(self) -> None:
        pass


LOST: Held = _Lost()


class _FileLock:
    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def alive(self) -> bool:
        return self._fd is not None  # an open file keeps its flock

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops its flock
            self._fd = None


class _AdvisoryLock:
    def __init__(self, engine, conn, mode: Mode) -> None:  # type: ignore[no-untyped-def]
        self._engine, self._conn, self._mode = engine, conn, mode

    def alive(self) -> bool:
        if self._conn is None:
            return False
        try:  # a session-level lock is held for as long as its session lives: one round trip tells
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            unlock = "pg_advisory_unlock_shared" if self._mode == "shared" else "pg_advisory_unlock"
            self._conn.execute(text(f"SELECT {unlock}(:key)"), {"key": ADVISORY_KEY})
        except SQLAlchemyError:
            pass  # the connection is gone already, and the lock with it
        finally:
            self._conn.close()  # the session ends: the database drops whatever lock it still held
            self._engine.dispose()
            self._conn = None


def lock_file(url: str) -> Path | None:
    """The file a SQLite database's servers lock (``<database>.lock``), or None for PostgreSQL or an
    in-memory SQLite database."""
    url = resolve_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or is_in_memory(url):
        return None
    path = Path(str(parsed.database)).expanduser()
    return path.with_name(path.name + ".lock")


def take(url: str, mode: Mode, *, busy: str | None = None) -> Held:
    """Take the database's lock: ``shared`` (a server, for as long as it runs) or ``exclusive`` (rekey). Raise
    :class:`DatabaseInUseError` (``busy``, or what to do in rekey's or a server's words) when the other kind
    holds it; ``release()`` the result when done."""
    url = resolve_url(url)
    busy = busy or (REKEY_RUNNING if mode == "shared" else SERVER_RUNNING)
    if make_url(url).get_backend_name() == "postgresql":
        return _take_advisory(url, mode, busy)
    path = lock_file(url)
    if path is None:
        return _Nothing()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise DatabaseInUseError(f"cannot open {path} (the lock beside the database): {exc.strerror or exc} — "
                                 "the database's folder must be writable") from None
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if mode == "shared" else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseInUseError(busy) from None
    except OSError:
        os.close(fd)
        raise
    return _FileLock(fd)


def _take_advisory(url: str, mode: Mode, busy: str) -> Held:
    # a connection of its own: a pooled one would go back to the pool (and to other work) still holding the lock
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": CONNECT_TIMEOUT_S,
                                         "application_name": APPLICATION_NAME[mode]})
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        engine.dispose()
        raise open_problem(url, exc) from None
    try:
        try_lock = "pg_try_advisory_lock_shared" if mode == "shared" else "pg_try_advisory_lock"
        got = conn.execute(text(f"SELECT {try_lock}(:key)"), {"key": ADVISORY_KEY}).scalar()
    except BaseException:
        conn.close()
        engine.dispose()
        raise
    if not got:
        conn.close()
        engine.dispose()
        raise DatabaseInUseError(busy)
    return _AdvisoryLock(engine, conn, mode)


@contextmanager
def exclusive(url: str, *, busy: str = SERVER_RUNNING) -> Iterator[None]:
    """No server runs on the database for as long as this block runs (:class:`DatabaseInUseError` with
    ``busy`` otherwise)."""
    held = take(url, "exclusive", busy=busy)
    try:
        yield
    finally:
        held.release()
