"""Stream adapters: a UART-like byte stream for the Modem on a PC or the unix port.

The Modem needs ``readinto(buf)`` (bytes read, or None/0 when nothing is waiting: it never
blocks), ``write(buf)`` (bytes written, or None when the stream is full) and, optionally, a
``pollable`` attribute (or the object itself) that ``select.poll`` accepts. A
``machine.UART`` already behaves like that and is passed to the Modem directly: create it with
``timeout=0`` (reads must not block), a generous ``rxbuf`` and, where wired, RTS/CTS flow
control (``flow=UART.RTS | UART.CTS``). An optional ``flush()`` that waits until the output has
left (``machine.UART.flush()``) is called before the "+++" guard is timed. On CPython/Linux
``TcpStream`` and ``SerialStream`` get one (``wip._compat.flush``: SIOCOUTQ/TIOCOUTQ); the
MicroPython unix port has no ``fcntl``, so there the guard is timed from the last write().

* ``tcp_stream(host, port)``: the simulator's UART on a TCP port. A small SO_RCVBUF makes it
  behave like a UART with flow control (the module blocks when the host does not read). On
  MicroPython it is the non-blocking socket itself (RAM), on CPython a ``TcpStream``; only
  the ``TcpStream`` turns the module closing the connection into ``OSError(ENOTCONN)`` (a
  UART never closes: on MicroPython that shows as the command's timeout).
* ``serial_stream(device, baud)``: a real module on a PC serial port through pyserial,
  imported only when called.
"""

import socket as _socket
import sys

from .modem import _lookup

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const

_SOL_SOCKET = const(1)  # Linux values; the unix port's socket module lacks the names
_SO_RCVBUF = const(8)
_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)
_MICROPYTHON = sys.implementation.name == "micropython"


# Imported when first asked for (see wip.modem._lookup): the CPython stream classes, and
# serial_stream(device, baudrate=115200, rtscts=True) for pyserial (PC only).
_LAZY = " TcpStream=_host_streams SerialStream=_host_streams serial_stream=_serial:open "


def __getattr__(name):
    where = _lookup(_LAZY, name)
    if where is None:
        raise AttributeError(name)
    package = __name__[:__name__.rfind(".") + 1]
    return getattr(__import__(package + where[0], None, None, ("*",)), where[1])


def tcp_stream(host, port, rcvbuf=4096):
    """Connect to a simulator (or any raw TCP-to-UART bridge): the stream for a Modem."""
    ai = _socket.getaddrinfo(host, port)[0]
    sock = _socket.socket(ai[0], _socket.SOCK_STREAM)
    for level, opt, value in ((_SOL_SOCKET, _SO_RCVBUF, rcvbuf), (_IPPROTO_TCP, _TCP_NODELAY, 1)):
        try:
            sock.setsockopt(level, opt, value)
        except OSError:
            pass
    sock.connect(ai[-1])
    sock.setblocking(False)
    if _MICROPYTHON:  # its socket already has the interface (None when it would block)
        return sock
    from ._host_streams import TcpStream

    return TcpStream(sock)
