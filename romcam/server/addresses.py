"""The addresses ``romcam serve`` prints: ones a browser can open. A server bound to all interfaces
(``0.0.0.0`` or ``::``) is opened on this machine at the loopback address, and from another machine at
this machine's network address or name — found from the routing table and the host name, without
sending anything on the network."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

# what a browser on this machine opens for a server bound to every interface
WILDCARD_LOCAL = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
# a documentation address (RFC 5737, never routed): "connecting" a UDP socket to it picks the interface
# of the default route and sends no packet
ROUTE_PROBE = "192.0.2.1"
CONTAINER_MARKERS = (Path("/.dockerenv"), Path("/run/.containerenv"))  # Docker's, Podman's


def in_container() -> bool:
    """True inside a Docker or Podman container, whose own addresses other machines do not reach."""
    return any(marker.exists() for marker in CONTAINER_MARKERS)


def url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets."""
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def binds_all(host: str) -> bool:
    """True for a host that binds every interface (``0.0.0.0``, ``::``)."""
    return host.strip("[]") in WILDCARD_LOCAL


def local_url(host: str, port: int) -> str:
    """The address to open on this machine: the bound one, or loopback for a server bound to all interfaces."""
    host = host.strip("[]")
    return url(WILDCARD_LOCAL.get(host, host), port)


def lan_address() -> str | None:
    """This machine's address on its network (the default route's interface), or None without one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((ROUTE_PROBE, 9))  # UDP: nothing is sent
            address = probe.getsockname()[0]
    except OSError:
        return None
    ip = ipaddress.ip_address(address)
    return None if ip.is_loopback or ip.is_unspecified else address


def network_urls(port: int) -> list[str]:
    """The addresses another machine may open: the network address, then the host name (if the network
    resolves it); empty when neither is known."""
    out = []
    address = lan_address()
    if address:
        out.append(url(address, port))
    name = socket.gethostname()
    if name and name != "localhost" and not _is_ip(name):
        out.append(url(name, port))
    return list(dict.fromkeys(out))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def all_interfaces_line(host: str, port: int) -> str:
    """What to tell the person who bound every interface: that it listens on all of them, and where another
    machine opens it."""
    if in_container():  # its own address is the container network's: the host's published port is the way in
        where = (f"in a container: other machines reach it where the host publishes port {port} (compose.yaml: "
                 f"127.0.0.1:{port}, for the HTTPS reverse proxy, docs/deploy.md)")
        return f"romcam: listening on all interfaces ({host or '0.0.0.0'}, port {port}): {where}"
    others = network_urls(port)
    where = (f"from another machine open {' or '.join(f'{u}/' for u in others)}" if others else
             f"from another machine open this machine's network address on port {port} (none was found here)")
    return f"romcam: listening on all interfaces ({host or '0.0.0.0'}, port {port}): {where}"
