"""Who may call `mesoclaw serve` and how much: the Host and Origin rules (`Access`) and the limits on
bodies, time, connections and upstream requests (`Limits`). Pure: no Starlette, no I/O, so the CLI
can check its options without loading the server.

The Host rule exists against DNS rebinding: a page on `attacker.example` whose name later resolves
to 127.0.0.1 sends `Host: attacker.example`. A browser only ever sends the name of the page's own
origin, so an IP literal or `localhost` in Host cannot come from a rebound page. The Origin rule
exists against cross-site requests: a page may POST `text/plain` to any address without a preflight,
and its browser then names the page in `Origin`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..core.types import MesoclawError

MIB = 1024 * 1024
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": MIB, "mb": MIB, "mib": MIB,
               "g": 1024 * MIB, "gb": 1024 * MIB, "gib": 1024 * MIB}
MAX_UPSTREAM = 50  # the provider HTTP client's pool (providers/_http.make_client): more would wait there


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one client may make the server hold, and for how long (`mesoclaw serve --help`)."""

    max_body: int = 10 * MIB  # bytes of a request body; more is refused with 413 before it is read
    header_timeout: float = 10.0  # seconds for a connection to send a whole request head
    body_timeout: float = 30.0  # seconds for the whole body once the head is in
    send_timeout: float = 60.0  # seconds a client may leave its response unread before it is dropped
    max_connections: int = 1000  # open connections; past it the one waiting longest for its request goes
    max_concurrent: int = 16  # requests talking to providers at once
    max_queue: int = 64  # requests waiting for one of those places; past it 503 with Retry-After

    def __post_init__(self) -> None:
        checks = [("--max-body", self.max_body >= 1024, "at least 1KB"),
                  ("--header-timeout", self.header_timeout > 0, "more than 0 seconds"),
                  ("--body-timeout", self.body_timeout > 0, "more than 0 seconds"),
                  ("--send-timeout", self.send_timeout > 0, "more than 0 seconds"),
                  ("--max-connections", self.max_connections >= 8, "at least 8"),
                  ("--max-concurrent", 1 <= self.max_concurrent <= MAX_UPSTREAM, f"from 1 to {MAX_UPSTREAM}"),
                  ("--max-queue", self.max_queue >= 0, "0 or more")]
        for option, ok, valid in checks:
            if not ok:
                raise MesoclawError(f"{option} must be {valid}")


def parse_size(text: str) -> int:
    """'10MB', '512k', '1048576' -> bytes (K, M, G are powers of 1024)."""
    raw = text.strip().lower().replace(" ", "")
    number = raw.rstrip("kmgib")
    unit = raw[len(number):]
    try:
        value = float(number)
    except ValueError:
        value = -1
    if unit not in _SIZE_UNITS or value < 0:
        raise MesoclawError(f"'{text}' is not a size (examples: 10MB, 512KB, 1048576)")
    return int(value * _SIZE_UNITS[unit])


def is_loopback(host: str) -> bool:
    """Is this bind address or Host name this machine's loopback (localhost, 127.0.0.0/8, ::1)?"""
    host = host.strip().lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, bool]:
    """A Host header -> (lower-case name or address without brackets, well-formed)."""
    value = value.strip().lower()
    if value.startswith("["):  # [v6] or [v6]:port
        address, _, rest = value[1:].partition("]")
        return address, rest == "" or (rest[:1] == ":" and rest[1:].isdigit())
    name, colon, port = value.rpartition(":")
    if not colon:
        return value, bool(value)
    return name, bool(name) and port.isdigit() and ":" not in name


def _ip_literal(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def normalise_origin(text: str) -> str:
    """'HTTPS://App.Example:443/' -> 'https://app.example', as browsers send it; MesoclawError if it is
    not an origin (scheme://host[:port] and nothing more)."""
    parts = urlsplit(text.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password
            or parts.path not in ("", "/") or parts.query or parts.fragment or port == -1):
        raise MesoclawError(f"--allow-origin '{text}' is not an origin: give scheme://host[:port], e.g. "
                            "https://app.example or http://localhost:3000")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


@dataclass(frozen=True)
class Access:
    """The Host and Origin rules of one server (see the module docstring and docs/security.md).

    Host: `localhost` and loopback addresses are always served. A server bound to a non-loopback
    address (which needs a token) also serves any IP address (whatever the user types to reach it over
    the LAN, a VPN or a port forward) and this machine's host names; `allow_hosts` adds DNS names.
    Origin: absent (not a browser), loopback, or named in `allow_origins` (which needs a token).
    """

    token: bool = False
    network: bool = False  # bound to a non-loopback address
    allow_origins: frozenset[str] = frozenset()
    allow_hosts: frozenset[str] = frozenset()
    machine_names: frozenset[str] = field(default=frozenset())

    @classmethod
    def build(cls, host: str, token: str | None, allow_origins: tuple[str, ...] | list[str] = (),
              allow_hosts: tuple[str, ...] | list[str] = ()) -> Access:
        """The rules for `mesoclaw serve --host HOST [--token] [--allow-origin …] [--allow-host …]`."""
        if (allow_origins or allow_hosts) and not token:
            option = "--allow-origin" if allow_origins else "--allow-host"
            raise MesoclawError(f"{option} needs --token: without one, any page served from that origin or "
                                "name could spend your provider credits")
        if any(o.strip() == "*" for o in allow_origins):
            raise MesoclawError("--allow-origin '*' is refused: name each origin (scheme://host[:port])")
        hosts = set()
        for name in allow_hosts:
            bare, ok = split_host(name)
            if not ok or "/" in bare:
                raise MesoclawError(f"--allow-host '{name}' is not a host name (e.g. devbox.example.com)")
            hosts.add(bare)
        network = not is_loopback(host)
        return cls(token=bool(token), network=network,
                   allow_origins=frozenset(normalise_origin(o) for o in allow_origins),
                   allow_hosts=frozenset(hosts), machine_names=_machine_names() if network else frozenset())

    def host_allowed(self, value: str) -> bool:
        name, ok = split_host(value)
        if not ok:
            return False
        if name == "localhost" or name in self.allow_hosts:
            return True
        address = _ip_literal(name)
        if address is not None:
            return self.network or address.is_loopback
        return self.network and name in self.machine_names

    def origin_allowed(self, origin: str) -> bool:
        origin = origin.strip().lower()
        if origin in self.allow_origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.path or not parts.hostname:
            return False  # "null" (a sandboxed frame, a file: page) and anything else unreadable
        return is_loopback(parts.hostname)

    def describe_hosts(self) -> str:
        """The rule in words, for the 403 a refused Host gets."""
        served = "localhost, 127.0.0.1 or [::1]"
        if self.network:
            served = "an IP address, localhost, this machine's name"
        if self.allow_hosts:
            served += " or " + ", ".join(sorted(self.allow_hosts))
        hint = "" if self.allow_hosts or not self.token else "; add names with --allow-host"
        return f"this server answers requests addressed to {served} (against DNS rebinding){hint}"


def _machine_names() -> frozenset[str]:
    import socket

    name = socket.gethostname().lower()
    short = name.split(".", 1)[0]
    return frozenset(n for n in {name, short, f"{short}.local"} if n)
