"""The test helper that waits for a starting `romcam serve` keeps waiting through what a port with no listener
yet can answer: on Linux a connection to a free local port in the ephemeral range can connect to itself (TCP
simultaneous open) and read back its own request, which http.client calls a BadStatusLine (CI failed on it once)."""

from __future__ import annotations

import socket
import threading

from helpers import wait_until_up


def _server_that_echoes_first(listener: socket.socket, answered: list[bytes]) -> None:
    """Answer the first connection with its own request, as a self-connected socket does; the next with HTTP 200."""
    for echo in (True, False):
        try:
            conn, _ = listener.accept()
        except OSError:  # the test ended (failed) and closed the listener
            return
        with conn:
            request = conn.recv(65536)
            answered.append(request)
            conn.sendall(request if echo else b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")


def test_waiting_goes_on_past_a_connection_that_reads_back_its_own_request() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        answered: list[bytes] = []
        server = threading.Thread(target=_server_that_echoes_first, args=(listener, answered), daemon=True)
        server.start()
        wait_until_up(f"http://127.0.0.1:{port}/healthz", timeout=20)
        server.join(timeout=20)
    assert len(answered) == 2 and all(r.startswith(b"GET /healthz HTTP/1.1") for r in answered)
