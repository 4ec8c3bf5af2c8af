"""What several test files share: a free port, a real `romcam serve`, and the real browser (Debian's chromium)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# the flags this machine needs: headless, as root, and no background connections (the network is closed)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots to look at (gitignored)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_browser() -> None:
    """Skip without Debian's chromium or the playwright package — but fail in CI, which installs both."""
    why = None
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is absent (apt-get install chromium chromium-driver)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "the playwright Python package is not installed (pip install -e '.[test]')"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(f"browser test skipped: {why}")


def wait_until_up(url: str, proc: subprocess.Popen | None = None, log: Path | None = None,
                  timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"romcam serve exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout:.0f} s:\n{_tail(log)}") from None
            time.sleep(0.2)


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""


@contextmanager
def romcam_serve(tmp: Path, *args: str, ready: str = "/live/status",
                 timeout: float = 120.0) -> Iterator[tuple[int, subprocess.Popen]]:
    """A real ``romcam serve`` subprocess on a free port, a fresh SQLite database and data directory
    in ``tmp``; yields ``(port, process)`` once ``ready`` answers, and stops it (SIGINT) afterwards."""
    port = free_port()
    env = os.environ | {"HOME": str(tmp), "ROMCAM_DATA": str(tmp / "data")}
    log_path = tmp / f"serve-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "romcam.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--db", f"sqlite:///{tmp / 'romcam.db'}", *args],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            wait_until_up(f"http://127.0.0.1:{port}{ready}", proc, log_path, timeout)
            yield port, proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
