"""A running ``romcam serve`` follows its link file: ``romcam link`` (a new link, another clinic, a new key) or the
file's removal takes effect within seconds, not at the next start.

:class:`LinkFollower` looks at the file every ``every_s`` (its identity: inode, size, mtime, mode — a stat, no
read while it is unchanged); when that changed it reads it, and when the link it holds differs from the one in use
it hands the new one (None: the file was removed, the laptop is no longer linked) to ``on_change`` (the app then
stops the old sync worker and starts one on the new link: docs/sync.md "Linking while romcam runs"). A file it
cannot read or that is not a whole link (half-written by another editor, others may read it, a mistyped URL)
changes nothing: the link in use stays, the log says why once, and it is read again at the next look.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from .config import LinkConfig, read_config

log = logging.getLogger("romcam.sync")

FileIdentity = tuple[int, int, int, int, int] | None  # (device, inode, size, mtime_ns, mode); None: no file


def file_identity(path: Path) -> FileIdentity:
    """What changes when the file at ``path`` is written, replaced, chmod-ed or removed (None: there is none)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return (-1, -1, -1, -1, -1)  # there, but not to be looked at: read_config says why
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)


class LinkFollower:
    """Watches ``path`` for the link ``current`` came from (None: not linked yet, the file may appear)."""

    def __init__(self, path: Path, current: LinkConfig | None, on_change: Callable[[LinkConfig | None], object],
                 *, every_s: float = 2.0) -> None:
        self.path = path
        self.current = current
        self.on_change = on_change
        self.every_s = every_s
        self._seen: FileIdentity | tuple[str] = ("unknown",)  # read at the first look: it may have changed since
        self._said = ""  # the last problem logged (said once, not every look)
        self._failed = ""  # the last error of a link that could not be started (said once, with its traceback)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Look at the file once; True when the link changed (``on_change`` was called and took it)."""
        ident = file_identity(self.path)
        if ident == self._seen:
            return False
        if ident is None:
            link = None
        else:
            try:
                link = read_config(self.path)
            except UsageError as exc:  # half-written, not 0600, not a link: keep the link in use, look again
                if str(exc) != self._said:
                    self._said = str(exc)
                    keep = (f"still linked to {self.current.url}" if self.current is not None else "still not linked")
                    log.warning("sync: the link file changed but cannot be used (%s): %s; looking again every %g s",
                                exc, keep, self.every_s)
                return False
        self._said = ""
        if link == self.current:
            self._seen = ident
            return False
        before = self.current
        self.on_change(link)  # raises: the link in use stays, and the next look tries again
        self._seen, self.current = ident, link
        if link is None:
            log.warning("sync: the link file %s was removed: this laptop is no longer linked (sessions stay here)",
                        self.path)
        else:
            log.warning("sync: the link file changed: now linked to %s%s", link.url,
                        " with another device token" if before is not None and before.url == link.url else "")
        return True

    def look(self) -> None:
        """One look as the thread takes it: a new link that cannot be started (the database busy, the clinic's
        worker refused) leaves the link in use and is tried again at the next look — said once with its
        traceback, not at every look, until it starts or fails another way."""
        try:
            self.check()
        except Exception as exc:  # whatever the app raised: the link in use stays, and the log says why
            failed = f"{type(exc).__name__}: {exc}"
            if failed != self._failed:
                self._failed = failed
                keep = f"still linked to {self.current.url}" if self.current is not None else "still not linked"
                log.exception("sync: could not switch to the changed link file (%s): %s; trying again every %g s",
                              failed, keep, self.every_s)
            else:
                log.debug("sync: the changed link file still cannot be used: %s", failed)
        else:
            self._failed = ""

    def run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.look()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="romcam-link-file", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
