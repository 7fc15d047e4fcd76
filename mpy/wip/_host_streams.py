"""The stream classes of wip.streams for CPython (MicroPython's socket and machine.UART
need no wrapper): ``TcpStream`` over a socket, ``SerialStream`` over pyserial's Serial.
Contract: wip.streams."""


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


try:  # Linux: flush() waits for an empty send queue (SIOCOUTQ, = TIOCOUTQ on a tty)
    import fcntl  # noqa: F401  (the MicroPython unix port has none: no flush, see wip.modem)

    from ._compat import flush as _flush

    TcpStream.flush = _flush
except ImportError:
    pass


class SerialStream(TcpStream):
    """pyserial's Serial with the UART stream interface (non-blocking reads).

    write(), fileno() and close() are TcpStream's, on the Serial object."""

    def __init__(self, ser):
        TcpStream.__init__(self, ser)
        self.ser = ser

    def readinto(self, buf):
        return self.ser.readinto(buf) or None
