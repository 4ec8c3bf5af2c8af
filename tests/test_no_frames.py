"""No video frame is ever written to disk or sent over the network: only the MJPEG preview goes, to
a loopback client on this machine.

``romcam serve`` on a rendered clip (the clip stands in for the camera) and ``romcam analyze --save``
run under ``strace -f`` (every thread and child process, native code included: OpenCV, MediaPipe),
with HOME, TMPDIR, the data directory and the working directory in fresh temp dirs. The test drives
the live coach to the end of the clip (WebSocket events, Start, the MJPEG preview, a check-in), then
proves from the system calls and from what is left:

- files: every file opened for writing, created, renamed or linked is on a short list with a reason
  (the database and the running server's empty lock file beside it, matplotlib's font cache, ctypes'
  gcc probe in TMPDIR that is deleted again); every
  file left in those dirs holds no JPEG/PNG/video data; TMPDIR ends empty;
- the database: every column of every row is free of image data, and each samples blob decompresses
  to exactly count × (time, angle) float32 — there is no room for a frame;
- network: every connect/bind/sendto/sendmsg address and every accepted peer is loopback (or a local
  Unix/netlink socket): nothing leaves the machine — MediaPipe's own telemetry included (romcam.pose
  points it at a closed loopback port);
- the preview: a loopback client gets JPEG frames (so the check above is not vacuous), a request a
  proxy relayed (X-Forwarded-For) gets 403 and not one JPEG byte; the WebSocket carries numbers only.

strace is required (Debian: apt-get install strace); without it the test skips, in CI it fails.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import free_port, stop, wait_until_up
from sqlalchemy import MetaData, create_engine, select

from tests.conftest import DEMO_SPEC

SYSCALLS = ("open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,mkdir,mkdirat,"
            "truncate,connect,bind,sendto,sendmsg,sendmmsg,accept,accept4")
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
# image and video signatures: JPEG (JFIF/EXIF/plain), PNG, WebP, MP4/MOV, AVI, Matroska/WebM, our MJPEG boundary
MAGIC = (b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\xff\xd8\xff\xdb", b"\x89PNG\r\n\x1a\n", b"WEBPVP8",
         b"ftypisom", b"ftypmp4", b"ftypqt", b"AVI LIST", b"\x1a\x45\xdf\xa3", b"--romcamframe")


def require_strace() -> str:
    """strace, able to trace here; else skip (fail in CI, which must run the proof)."""
    found = shutil.which("strace")
    why = "strace is absent (apt-get install strace)" if found is None else None
    if found is not None:
        probe = subprocess.run([found, "-f", "-qq", "-e", "trace=none", "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            why = f"strace cannot trace here (ptrace refused?): {probe.stderr.strip()[:200]}"
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{why}: CI must run the no-frames proof")
        pytest.skip(why)
    assert found is not None
    return found


@dataclass
class Trace:
    writes: list[tuple[str, str]] = field(default_factory=list)  # (syscall, path)
    addresses: list[str] = field(default_factory=list)  # every socket address seen, as strace prints it
    connects: int = 0


PATH_CALL = re.compile(r'^\d+\s+(?:<\.\.\. )?(open|openat|openat2|creat|rename|renameat|renameat2|link|linkat|'
                       r'symlink|symlinkat|mkdir|mkdirat|truncate)\((.*)$')
NET_CALL = re.compile(r"^\d+\s+(connect|bind|sendto|sendmsg|accept|accept4)\((.*)$")


def parse(trace_file: Path) -> Trace:
    out = Trace()
    for line in trace_file.read_text(errors="replace").splitlines():
        if (m := PATH_CALL.match(line)) is not None:
            call, rest = m.groups()
            if " = -1 " in rest:
                continue  # failed: nothing written
            paths = re.findall(r'"((?:[^"\\]|\\.)*)"', rest)
            if not paths:
                continue
            if call.startswith("open"):
                if any(flag in rest for flag in WRITE_FLAGS):
                    out.writes.append((call, paths[0]))
            elif call == "creat" or call.startswith(("mkdir", "truncate")):
                out.writes.append((call, paths[0]))
            else:  # rename/link/symlink: the new name is written
                out.writes.append((call, paths[-1]))
        elif (m := NET_CALL.match(line)) is not None:
            call, rest = m.groups()
            if " = -1 " in rest and call.startswith("accept"):
                continue
            out.connects += call == "connect"
            out.addresses += re.findall(r"\{sa_family=[^}]*\}", rest)
    return out


def address_is_local(address: str) -> bool:
    """An address strace printed: AF_UNIX/AF_NETLINK, or an IPv4/IPv6 loopback address."""
    if "AF_UNIX" in address or "AF_NETLINK" in address or "AF_UNSPEC" in address:
        return True
    ip = re.search(r'inet_addr\("([^"]+)"\)', address) or re.search(r'inet_pton\(AF_INET6, "([^"]+)"', address)
    if ip is None:
        return False
    value = ipaddress.ip_address(ip.group(1))
    if isinstance(value, ipaddress.IPv6Address) and value.ipv4_mapped is not None:
        value = value.ipv4_mapped
    return value.is_loopback


def has_image_data(data: bytes) -> bool:
    return any(m in data for m in MAGIC)


@dataclass
class Sandbox:
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def cwd(self) -> Path:
        return self.root / "cwd"

    @property
    def db(self) -> Path:
        return self.root / "db" / "romcam.db"

    def make(self) -> None:
        for d in (self.home, self.tmp, self.cwd, self.db.parent):
            d.mkdir(parents=True)

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "CI")}
        return keep | {"HOME": str(self.home), "TMPDIR": str(self.tmp), "ROMCAM_DATA": str(self.home / "data"),
                       "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    def allowed(self, call: str, path: str) -> str | None:
        """Why writing ``path`` is fine, or None."""
        p = Path(path)
        if call.startswith("mkdir") and p.is_relative_to(self.root):
            return "a directory in the sandbox (what is put in it is checked)"
        if path in ("/dev/null", "/dev/tty") or path.startswith("/dev/shm/"):
            return "not a file on disk"
        if p.parent == self.db.parent and p.name in {self.db.name + s for s in ("", "-wal", "-shm", "-journal")}:
            return "the database (checked row by row below)"
        if p.parent == self.db.parent and p.name == self.db.name + ".lock" and p.stat().st_size == 0:
            return "the running server's lock beside the database, empty (romcam/store/server_lock.py)"
        if p.is_relative_to(self.home / ".cache" / "matplotlib"):
            return "matplotlib (imported by MediaPipe) caches its font list"
        if p.parent == self.tmp and re.fullmatch(r"(tmp)?[a-z0-9_]{8}|cc\w{6}\.(c|o|res|cdtor\.c|cdtor\.o|s|le\.o)",
                                                 p.name):
            return "ctypes.util.find_library's gcc probe and tempfile's writability check (deleted again)"
        return None

    def files(self) -> list[Path]:
        return [p for d in (self.home, self.tmp, self.cwd, self.db.parent) for p in d.rglob("*") if p.is_file()]


def check_files(box: Sandbox, trace: Trace, extra_allowed: dict[str, str] | None = None) -> None:
    extra_allowed = extra_allowed or {}
    unexplained = [(call, path) for call, path in trace.writes
                   if box.allowed(call, path) is None and path not in extra_allowed]
    assert not unexplained, f"files written that nothing explains: {unexplained}"
    assert list(box.tmp.iterdir()) == [], f"TMPDIR keeps {list(box.tmp.iterdir())}"
    for p in box.files():
        assert not has_image_data(p.read_bytes()) or p == box.db, f"{p} holds image data"


def check_network(trace: Trace) -> None:
    outside = [a for a in trace.addresses if not address_is_local(a)]
    assert not outside, f"network traffic off this machine: {outside[:10]}"


def check_database(db: Path) -> int:
    """No image data in any column of any row; samples blobs hold exactly their samples. Returns the
    number of sample blobs seen."""
    engine = create_engine(f"sqlite:///{db}")
    metadata = MetaData()
    metadata.reflect(engine)
    blobs = 0
    try:
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                for row in conn.execute(select(table)):
                    for column, value in row._mapping.items():
                        data = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                        assert not has_image_data(data), f"{table.name}.{column} holds image data"
                        assert len(data) < 200_000, f"{table.name}.{column} holds {len(data)} bytes"
                if table.name == "set_samples":
                    for row in conn.execute(select(table)):
                        raw = zlib.decompress(row.data[5:])
                        assert row.data[0] == 1 and len(raw) == 8 * row.count, "a samples blob holds more than samples"
                        blobs += 1
    finally:
        engine.dispose()
    return blobs


def traced(strace: str, trace_file: Path, *args: str) -> list[str]:
    return [strace, "-f", "--seccomp-bpf", "-qq", "-s", "80", "-e", f"trace={SYSCALLS}", "-e", "signal=none",
            "-o", str(trace_file), sys.executable, "-m", "romcam.cli", *args]


def _post(base: str, path: str, body: object | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _mjpeg(base: str, headers: dict[str, str], limit: int = 200_000) -> tuple[int, bytes]:
    req = urllib.request.Request(base + "/live/video.mjpg", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            data = b""
            while len(data) < limit and data.count(b"\xff\xd8\xff") < 3:
                chunk = r.read1(65536)
                if not chunk:
                    break
                data += chunk
            return r.status, data
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_serve_writes_and_sends_no_frame(demo_clip: Path, tmp_path: Path) -> None:
    strace = require_strace()
    from websockets.sync.client import connect

    box = Sandbox(tmp_path / "box")
    box.make()
    trace_file = tmp_path / "serve.strace"
    log_path = tmp_path / "serve.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = traced(strace, trace_file, "serve", "--port", str(port), "--db", f"sqlite:///{box.db}",
                 "--source", str(demo_clip), "--exercise", DEMO_SPEC.exercise, "--side", DEMO_SPEC.side)
    messages: list[str | bytes] = []
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, env=box.env(), cwd=box.cwd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # stopped as a group: strace alone would detach
        try:
            wait_until_up(base + "/live/status", proc, log_path, timeout=180)
            with connect(f"ws://127.0.0.1:{port}/live/ws", origin=base, open_timeout=30) as ws:
                assert _post(base, "/live/start")["started"] is True
                status, preview = _mjpeg(base, {})
                relayed_status, relayed = _mjpeg(base, {"X-Forwarded-For": "198.51.100.7"})
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
                    messages.append(message)
                    if json.loads(message).get("state") == "source_lost":
                        break
            assert _post(base, "/live/checkin", {"pain": 2, "tiredness": 4, "cramps": False, "note": "fine"})
        finally:
            stop(proc, 30, group=True)

    # the preview reaches this machine, and only it: the checks below are not vacuous
    assert status == 200 and preview.count(b"\xff\xd8\xff") >= 2, (status, preview[:200])
    assert relayed_status == 403 and b"\xff\xd8" not in relayed
    # the events are numbers: no picture, no big blob
    assert len(messages) > 50 and json.loads(messages[-1])["state"] == "source_lost"
    for m in messages:
        raw = m.encode() if isinstance(m, str) else m
        assert len(raw) < 8192 and not has_image_data(raw) and b"/9j/" not in raw and b"iVBORw0KGgo" not in raw

    trace = parse(trace_file)
    assert any(path == str(box.db) for _, path in trace.writes), "the trace missed the database: it sees nothing"
    assert any("127.0.0.1" in a for a in trace.addresses)  # it saw the server's own sockets
    check_files(box, trace)
    check_network(trace)
    assert check_database(box.db) >= 1  # the session's set was stored, as numbers


def test_analyze_save_writes_only_numbers(demo_clip: Path, tmp_path: Path) -> None:
    strace = require_strace()
    box = Sandbox(tmp_path / "box")
    box.make()
    trace_file = tmp_path / "analyze.strace"
    out_json, out_csv = box.cwd / "result.json", box.cwd / "samples.csv"
    cmd = traced(strace, trace_file, "analyze", str(demo_clip), "--exercise", DEMO_SPEC.exercise, "--side",
                 DEMO_SPEC.side, "--json", str(out_json), "--csv", str(out_csv), "--save", "--db",
                 f"sqlite:///{box.db}")
    done = subprocess.run(cmd, env=box.env(), cwd=box.cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    trace = parse(trace_file)
    outputs = {str(p): "the requested output" for p in (out_json, out_csv)}
    temps = {path: "the outputs' atomic temp files" for _, path in trace.writes
             if Path(path).parent == box.cwd and re.fullmatch(r"\.(result\.json|samples\.csv)\.\w+", Path(path).name)}
    check_files(box, trace, outputs | temps)
    check_network(trace)
    assert check_database(box.db) == 1
    result = json.loads(out_json.read_text())
    assert len(result["samples"]) == result["frames"] and not has_image_data(out_csv.read_bytes())
    assert out_csv.read_text().startswith("time_s,")


@pytest.mark.parametrize("line, local", [
    ('{sa_family=AF_INET, sin_port=htons(8000), sin_addr=inet_addr("127.0.0.1")}', True),
    ('{sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr)}', True),
    ('{sa_family=AF_INET6, sin6_port=htons(80), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr)}', True),
    ('{sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}', True),
    ('{sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}', False),  # DNS is traffic too
    ('{sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("216.239.32.1")}', False),
    ('{sa_family=AF_INET6, sin6_port=htons(443), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr)}', False),
])  # fmt: skip
def test_the_address_check(line: str, local: bool) -> None:
    assert address_is_local(line) is local
