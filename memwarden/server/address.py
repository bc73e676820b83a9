"""Whether the server can listen where it is told to, asked before it starts."""

from __future__ import annotations

import socket

from ..errors import InputError

__all__ = ["check_listen_address"]


def check_listen_address(host: str, port: int) -> None:
    """One line now for an address that cannot be listened on (a host that does not
    resolve, a port in use), where uvicorn would log several and exit 1 or 3."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as e:
        raise InputError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
