"""What ``romcam serve`` prints: addresses a browser can open. Bound to every interface (``--host
0.0.0.0``, the Docker image's), it names the loopback address for this machine, says it listens on all
interfaces, and gives this machine's network address and name for the others — never http://0.0.0.0."""

from __future__ import annotations

import os
import re
import socket
import urllib.request
from pathlib import Path

import pytest
from helpers import free_port, romcam_serve

from romcam.cli import serving_lines
from romcam.server import addresses
from romcam.server.addresses import lan_address

URL = re.compile(r"http://[^\s/]+:\d+")


@pytest.mark.parametrize("host, local", [
    ("0.0.0.0", "http://127.0.0.1:8642"),  # every IPv4 interface: this machine opens loopback
    ("::", "http://[::1]:8642"),  # every IPv6 interface
    ("127.0.0.1", "http://127.0.0.1:8642"),  # the default: as bound, one line
    ("::1", "http://[::1]:8642"),  # an IPv6 address in brackets
])  # fmt: skip
def test_the_address_printed_is_one_a_browser_opens(host: str, local: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(addresses, "in_container", lambda: False)  # a laptop or a clinic's own machine
    lines = serving_lines(host, 8642, "sqlite:///tmp/romcam.db")
    assert lines[0] == f"romcam serving on {local} (database sqlite:///tmp/romcam.db)"
    assert not any("0.0.0.0:" in u or "[::]:" in u for line in lines for u in URL.findall(line)), lines
    if host in ("0.0.0.0", "::"):
        assert len(lines) == 2 and lines[1].startswith(f"romcam: listening on all interfaces ({host}, port 8642): "
                                                        "from another machine open "), lines
        others = URL.findall(lines[1])
        assert f"http://{socket.gethostname()}:8642" in others
        lan = lan_address()
        if lan is not None:
            assert others[0] == f"http://{lan}:8642"
            with socket.socket() as s:  # an address of this machine: it can bind there
                s.bind((lan, 0))
    else:
        assert len(lines) == 1


def test_in_a_container_it_names_no_address_of_the_containers_own(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The Docker image binds 0.0.0.0: the container's own network address is no way in from another
    machine (the host publishes the port, for the reverse proxy), so it is not offered as one."""
    monkeypatch.setattr(addresses, "in_container", lambda: True)
    lines = serving_lines("0.0.0.0", 8000, "postgresql://romcam@db/romcam")
    assert lines[0].startswith("romcam serving on http://127.0.0.1:8000 ")
    assert lines[1] == ("romcam: listening on all interfaces (0.0.0.0, port 8000): in a container: other machines "
                        "reach it where the host publishes port 8000 (compose.yaml: 127.0.0.1:8000, for the HTTPS "
                        "reverse proxy, docs/deploy.md)")
    assert URL.findall(lines[1]) == []


def test_the_coach_and_the_dashboard_are_named_at_the_address_that_opens() -> None:
    from romcam.live.capture import LiveOptions

    [line, _] = serving_lines("0.0.0.0", 8642, "sqlite:///x.db", live=LiveOptions(source=None, demo=True))
    assert line.endswith("the patient opens http://127.0.0.1:8642/coach, the dashboard is http://127.0.0.1:8642/")


def test_serve_on_all_interfaces_prints_addresses_that_answer(tmp_path: Path) -> None:
    """A real clinic server bound to 0.0.0.0: every address it prints answers /healthz."""
    env = {"ROMCAM_AUTH": "clinic", "ROMCAM_SECRET_KEY": os.urandom(24).hex()}
    port = free_port()
    with romcam_serve(tmp_path, "--host", "0.0.0.0", "--no-live", ready="/healthz", env=env, port=port):
        log = (tmp_path / f"serve-{port}.log").read_text()
        lines = [x for x in log.splitlines() if x.startswith(("romcam serving on", "romcam: listening on all"))]
        assert len(lines) == 2 and lines[0].startswith(f"romcam serving on http://127.0.0.1:{port} "), log
        assert "listening on all interfaces (0.0.0.0" in lines[1], log
        printed = URL.findall("\n".join(lines))
        # in a container (this test may run in one) only loopback is printed: its own address reaches nothing
        assert f"http://0.0.0.0:{port}" not in printed and len(printed) >= (1 if addresses.in_container() else 2), \
            printed
        for base in printed:
            if base == f"http://{socket.gethostname()}:{port}":
                try:
                    socket.getaddrinfo(socket.gethostname(), port)
                except OSError:
                    continue  # the name is for a network that resolves it; this one does not
            with urllib.request.urlopen(f"{base}/healthz", timeout=10) as r:
                assert r.status == 200, base
