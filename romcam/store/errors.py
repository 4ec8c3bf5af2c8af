"""The store's errors: each says what went wrong and what to do; the API maps them to HTTP codes."""

from __future__ import annotations

import errno

from ..errors import RomcamError


class StoreError(RomcamError):
    """Base of the store's errors (exit code 1 on the command line)."""


class DatabaseError(StoreError):
    """The database cannot be opened or migrated."""


class AuditKeyChangedError(StoreError):
    """The server's secret key is not the one the database's audit log was written with."""


class NotFoundError(StoreError):
    """An id names no stored row (HTTP 404)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class ConflictError(StoreError):
    """The request contradicts what is stored (HTTP 409), e.g. a session id re-sent with other content."""


class InvalidError(StoreError):
    """A document is well-formed but refers to something it may not (HTTP 422, the field named in ``loc``)."""

    exit_code = 2

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(f"{'.'.join(str(p) for p in loc)}: {message}")
        self.loc = loc
        self.message = message


# Why a write failed, when the cause is the database's own state (storage_cause), and what fixes it
DISK_FULL = "the disk is full"
READ_ONLY = "the database is read-only"
UNREACHABLE = "the database cannot be reached"
STORAGE_FIX = {DISK_FULL: "free some space", READ_ONLY: "make the database writable",
               UNREACHABLE: "check that the database is running and reachable"}


def storage_cause(exc: BaseException) -> str | None:
    """Why a write failed, in words for the user, when the cause is the database's own state:
    :data:`DISK_FULL`, :data:`READ_ONLY` or :data:`UNREACHABLE` (:data:`STORAGE_FIX` says what to do);
    None for anything else. Reads the exception and its causes (SQLAlchemy wraps the driver's error,
    which wraps the OS's)."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in chain:
        chain.append(e)
        e = getattr(e, "orig", None) or e.__cause__
    text = " ".join(str(c) for c in chain).lower()
    codes = {getattr(c, "errno", None) for c in chain}
    if errno.ENOSPC in codes or "disk is full" in text or "no space left" in text or "disk full" in text:
        return DISK_FULL
    if errno.EROFS in codes or "readonly" in text or "read-only" in text:
        return READ_ONLY
    if "could not connect" in text or "connection" in text or "unable to open" in text:
        return UNREACHABLE
    return None
