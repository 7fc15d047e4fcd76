"""Helpers for unix-port test scripts that use the simulator (`# needs: sim`).

Import this before anything replaces `sys.modules["socket"]` (the umqtt scripts put the wip
shim there): `control` talks to the simulator over the unix port's own sockets.
"""

import os
import socket


def control(line):
    """Send one line to the simulator's control port; return its reply, stripped."""
    c = socket.socket()
    c.settimeout(10)
    c.connect(socket.getaddrinfo("127.0.0.1", int(os.getenv("WIPSIM_CONTROL_PORT")))[0][-1])
    c.write(line.encode() + b"\n")
    reply = c.readline()
    c.close()
    return reply.decode().strip()


def recv_exact(s, n):
    """n bytes from socket s, or fewer if it reports EOF first."""
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


_modem = []


def shared_modem():
    """The script's one Modem on the simulator's TCP UART, started, GPRS up (made on the
    first call; `wip` is imported then, from whatever the script put on sys.path)."""
    if not _modem:
        import wip

        m = wip.Modem(wip.tcp_stream("127.0.0.1", int(os.getenv("WIPSIM_PORT"))),
                      guard_time=float(os.getenv("WIPSIM_GUARD")), timeout=10)
        m.start()
        m.gprs("internet")
        _modem.append(m)
    return _modem[0]
