"""Simulator: the module, its UART transport and the control port on a background loop."""

import asyncio
import re
import socket
import threading
import time
import traceback

from .module import Module
from .uart import PtyHostLink, TcpHostLink

_PAYLOAD_PASS = re.compile(rb"((?:^|\n)PASS )[^\r\n]*", re.IGNORECASE)


class TranscriptLog:
    """Timestamped transcript: '>' host to module, '<' module to host, '#' events.

    Passwords are masked: those in AT commands by the module (parse.mask_passwords), and a
    "PASS <secret>" line inside socket payload here (an FTP or POP3 login that an app, e.g.
    wip.ftp's delete, sends through a plain TCP socket). A line split across two payload
    chunks is masked in the chunk holding "PASS ".
    """

    def __init__(self, path=None):
        self._file = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115
        self._lock = threading.Lock()

    def __call__(self, marker, data):
        if self._file is None:
            return
        if isinstance(data, (bytes, bytearray)):
            text = repr(_PAYLOAD_PASS.sub(rb"\1***", bytes(data)))[2:-1]
        else:
            text = str(data)
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        with self._lock:
            if self._file is not None:
                self._file.write(f"{stamp} {marker} {text}\n")

    def close(self):
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class Simulator:
    """A WIP Soft module simulator running on its own event-loop thread.

    >>> sim = Simulator(guard_time=0.05)
    >>> port = sim.start_tcp("127.0.0.1", 0)
    >>> sim.fault("reset", 1)   # -> "OK" or "ERR <why>"
    >>> sim.close()
    """

    def __init__(self, guard_time=1.0, port_offset=0, hosts=None, sock_max=20, baud=0,
                 connect_timeout=10.0, log=None):
        self.baud = baud
        self.log = TranscriptLog(log)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="wipsim-loop", daemon=True)
        self._thread.start()
        self.module = self.call(lambda: Module(
            self.loop, self.log, guard_time=guard_time, port_offset=port_offset, hosts=hosts,
            sock_max=sock_max, connect_timeout=connect_timeout))
        self.link = None
        self._control = None
        self._closed = False

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.set_exception_handler(self._loop_error)
        self.loop.run_forever()

    def _loop_error(self, loop, context):
        """An exception in a callback is logged; the simulator keeps running."""
        exc = context.get("exception")
        detail = "".join(traceback.format_exception(exc)) if exc else ""
        self.log("#", f"internal error: {context.get('message')}\n{detail}")

    def call(self, func, *args):
        """Run func(*args) on the simulator's loop and return its result."""
        async def runner():
            return func(*args)
        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(30)

    def _make_link(self, cls):
        if self.link is not None:
            raise RuntimeError("the simulator already has a UART transport")
        link = cls(self.loop, self.module.on_host_input, self.module.on_output_drained,
                   self.log, self.baud)
        self.module.link = link
        self.link = link
        return link

    def start_tcp(self, host="127.0.0.1", port=0):
        """Serve the UART on a TCP port; returns the port."""
        def start():
            link = self._make_link(TcpHostLink)
            bound = link.listen(host, port)
            self.module.boot()  # no host yet: lost, as on a real UART (§8)
            return bound
        return self.call(start)

    def start_pty(self):
        """Serve the UART on a pty (raw mode); returns the slave path."""
        def start():
            link = self._make_link(PtyHostLink)
            path = link.open()
            self.module.boot()
            return path
        return self.call(start)

    def start_control(self, host="127.0.0.1", port=0):
        """Line-based fault-injection port; returns the port."""
        def start():
            sock = socket.create_server((host, port))
            sock.setblocking(False)
            self._control = sock
            self.loop.add_reader(sock.fileno(), self._control_accept)
            return sock.getsockname()[1]
        return self.call(start)

    def _control_accept(self):
        try:
            conn, _ = self._control.accept()
        except OSError:
            return
        conn.setblocking(False)
        buffer = bytearray()

        def on_readable():
            try:
                data = conn.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self.loop.remove_reader(conn.fileno())
                conn.close()
                return
            buffer.extend(data)
            while b"\n" in buffer:
                line, _, rest = bytes(buffer).partition(b"\n")
                buffer[:] = rest
                reply = self._control_line(line.decode("utf-8", "replace").strip())
                try:
                    conn.setblocking(True)
                    conn.sendall(reply.encode() + b"\n")
                    conn.setblocking(False)
                except OSError:
                    pass

        self.loop.add_reader(conn.fileno(), on_readable)

    def _control_line(self, line):
        parts = line.split()
        if not parts:
            return "ERR empty command"
        self.log("#", f"control: {line}")
        try:
            return self.module.fault(parts[0].lower(), parts[1:])
        except Exception as exc:  # noqa: BLE001 - a fault must never kill the simulator
            return f"ERR {type(exc).__name__}: {exc}"

    def fault(self, name, *args):
        """Inject a fault (same commands as the control port); returns 'OK' or 'ERR ...'."""
        return self.call(self._control_line, " ".join([name, *map(str, args)]))

    def status(self):
        return self.call(self.module.status)

    def close(self):
        if self._closed:
            return
        self._closed = True

        def shutdown():
            if self.link is not None:
                self.link.close()
            if self._control is not None:
                self.loop.remove_reader(self._control.fileno())
                self._control.close()
            self.module.close()

        try:
            self.call(shutdown)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
