"""The store's errors: each says what went wrong and what to do; the API maps them to HTTP codes."""

from __future__ import annotations

from ..errors import RomcamError


class StoreError(RomcamError):
    """Base of the store's errors (exit code 1 on the command line)."""


class DatabaseError(StoreError):
    """The database cannot be opened or migrated."""


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
