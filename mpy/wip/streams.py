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
  behave like a UART with flow control (the module blocks when the host does not read).
* ``serial_stream(device, baud)``: a real module on a PC serial port through pyserial,
  imported only when called.
"""

import socket as _socket

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const

_SOL_SOCKET = const(1)  # Linux values; the unix port's socket module lacks the names
_SO_RCVBUF = const(8)
_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)


class TcpStream:
    """A non-blocking TCP connection with the UART stream interface."""

    def __init__(self, sock):
        self.sock = sock
        self.pollable = sock
        # MicroPython's sockets: readinto()/write(), None when they would block; CPython's:
        # recv_into()/send(), OSError(EAGAIN).
        self._read = getattr(sock, "readinto", None) or sock.recv_into
        self._send = getattr(sock, "write", None) or sock.send

    def readinto(self, buf):
        """Bytes read into buf; None if nothing is waiting; OSError once the peer closed."""
        try:
            n = self._read(buf)
        except OSError as exc:
            if exc.args and exc.args[0] == 11:  # EAGAIN
                return None
            raise
        if n == 0:
            raise OSError(107, "stream closed by the module")  # ENOTCONN
        return n

    def write(self, buf):
        """Bytes written (maybe fewer than len(buf)); None if the stream is full."""
        try:
            return self._send(buf)
        except OSError as exc:
            if exc.args and exc.args[0] == 11:
                return None
            raise

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()


try:  # CPython on Linux: flush() waits for an empty send queue (SIOCOUTQ, = TIOCOUTQ on a tty)
    import fcntl  # noqa: F401  (the MicroPython unix port has none: no flush, see wip.modem)

    from ._compat import flush as _flush

    TcpStream.flush = _flush
except ImportError:
    pass


def tcp_stream(host, port, rcvbuf=4096):
    """Connect to a simulator (or any raw TCP-to-UART bridge) and return a TcpStream."""
    ai = _socket.getaddrinfo(host, port)[0]
    sock = _socket.socket(ai[0], _socket.SOCK_STREAM)
    for level, opt, value in ((_SOL_SOCKET, _SO_RCVBUF, rcvbuf), (_IPPROTO_TCP, _TCP_NODELAY, 1)):
        try:
            sock.setsockopt(level, opt, value)
        except OSError:
            pass
    sock.connect(ai[-1])
    sock.setblocking(False)
    return TcpStream(sock)


class SerialStream(TcpStream):
    """pyserial's Serial with the UART stream interface (non-blocking reads).

    write(), fileno() and close() are TcpStream's, on the Serial object."""

    def __init__(self, ser):
        TcpStream.__init__(self, ser)
        self.ser = ser

    def readinto(self, buf):
        return self.ser.readinto(buf) or None


def serial_stream(*args, **kwargs):
    """serial_stream(device, baudrate=115200, rtscts=True): open a serial port with pyserial
    (imported on first use; the code is in wip._serial so a TCP stream does not carry it)."""
    from . import _serial

    return _serial.open(*args, **kwargs)
