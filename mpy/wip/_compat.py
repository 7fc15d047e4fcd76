"""CPython stand-ins for the MicroPython builtins the driver uses (``const``, ``time.ticks_*``,
``sleep_ms``), and the CPython half of ``TcpStream.flush``. Imported only on CPython, so a
board never loads it and the other modules' bytecode does not carry these fallbacks (RAM).
"""

from time import monotonic, sleep


def const(value):
    return value


def ticks_ms():
    return int(monotonic() * 1000)


def ticks_add(t, delta):
    return t + delta


def ticks_diff(a, b):
    return a - b


def sleep_ms(ms):
    sleep(ms / 1000)


def flush(stream, timeout_ms=5000):
    """TcpStream.flush on CPython: sleep until the socket (or tty) has no unsent bytes
    (Linux SIOCOUTQ / TIOCOUTQ), at most timeout_ms."""
    from fcntl import ioctl

    end = monotonic() + timeout_ms / 1000
    queued = bytearray(4)
    while monotonic() < end:
        try:
            ioctl(stream.sock.fileno(), 0x5411, queued, True)
        except OSError:
            return
        if not any(queued):
            return
        sleep(0.001)
