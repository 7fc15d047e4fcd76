"""Stream adapters: a UART-like byte stream for the Modem on a PC or the unix port.

The Modem needs ``readinto(buf)`` (bytes read, or None/0 when nothing is waiting: it never
blocks), ``write(buf)`` (bytes written, or None when the stream is full) and, optionally, a
``pollable`` attribute (or the object itself) that ``select.poll`` accepts. A
``machine.UART`` already behaves like that and is passed to the Modem directly: create it with
``timeout=0`` (reads must not block), a generous ``rxbuf`` and, where wired, RTS/CTS flow
control (``flow=UART.RTS | UART.CTS``).

* ``tcp_stream(host, port)``: the simulator's UART on a TCP port. A small SO_RCVBUF makes it
  behave like a UART with flow control (the module blocks when the host does not read).
* ``serial_stream(device, baud)``: a real module on a PC serial port through pyserial,
  imported only when called.
"""

import socket as _socket
import sys

_SOL_SOCKET = 1  # Linux values; the unix port's socket module lacks the names
_SO_RCVBUF = 8
_IPPROTO_TCP = 6
_TCP_NODELAY = 1
_CPYTHON = sys.implementation.name != "micropython"


class TcpStream:
    """A non-blocking TCP connection with the UART stream interface."""

    def __init__(self, sock):
        self.sock = sock
        self.pollable = sock

    def readinto(self, buf):
        """Bytes read into buf; None if nothing is waiting; OSError once the peer closed."""
        try:
            n = self._recv_into(buf)
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

    if _CPYTHON:

        def _recv_into(self, buf):
            return self.sock.recv_into(buf)

        def _send(self, buf):
            return self.sock.send(buf)

    else:

        def _recv_into(self, buf):
            return self.sock.readinto(buf)

        def _send(self, buf):
            return self.sock.write(buf)


def tcp_stream(host, port, rcvbuf=4096):
    """Connect to a simulator (or any raw TCP-to-UART bridge) and return a TcpStream."""
    ai = _socket.getaddrinfo(host, port)[0]
    sock = _socket.socket(ai[0], _socket.SOCK_STREAM)
    try:
        sock.setsockopt(_SOL_SOCKET, _SO_RCVBUF, rcvbuf)
    except OSError:
        pass
    try:
        sock.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
    except OSError:
        pass
    sock.connect(ai[-1])
    sock.setblocking(False)
    return TcpStream(sock)


class SerialStream:
    """pyserial's Serial with the UART stream interface (non-blocking reads)."""

    def __init__(self, ser):
        self.ser = ser
        self.pollable = ser

    def readinto(self, buf):
        n = self.ser.readinto(buf)
        return n or None

    def write(self, buf):
        return self.ser.write(buf)

    def fileno(self):
        return self.ser.fileno()

    def close(self):
        self.ser.close()


def serial_stream(device, baudrate=115200, rtscts=True):
    """Open a serial port with pyserial (imported here, on first use)."""
    import serial

    return SerialStream(serial.Serial(device, baudrate, timeout=0, write_timeout=10,
                                      rtscts=rtscts))
