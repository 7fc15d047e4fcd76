"""The simulator as a child process, started through its CLI (`python -m tools.wipsim`).

The test suite, tools/demo.py and tools/bench.py start it this way: the same contract a
developer uses by hand (the READY and CONTROL lines on stdout, the control port).
"""

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


class SimProcess:
    """A running simulator: ``.port`` (TCP UART) or ``.pty``, ``.control_port``,
    ``.control(line)``, ``.real_port(p)``, ``.stop()``.

    args: its command-line arguments; log_path: where ``--log`` writes (kept for callers
    that show the transcript). ``port_offset``: the ``--port-offset`` the caller passed, for
    ``real_port``.
    """

    port_offset = 0

    def __init__(self, args, log_path=None, start_timeout=20):
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools.wipsim", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.port = self.pty = self.control_port = None
        deadline = time.monotonic() + start_timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            parts = line.split()
            if line.startswith("WIPSIM CONTROL"):
                self.control_port = int(parts[2].rsplit(":", 1)[1])
            elif line.startswith("WIPSIM READY"):
                if parts[2] == "tcp":
                    self.port = int(parts[3].rsplit(":", 1)[1])
                else:
                    self.pty = parts[3]
                break
        if self.port is None and self.pty is None:
            self.stop()
            raise RuntimeError("simulator did not start:\n" + "".join(lines))
        # Keep reading its stdout so it can never block on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def real_port(self, port):
        """The OS port behind an AT-visible port (ports < 1024 are shifted by the offset)."""
        return port + self.port_offset if port < 1024 else port

    def control(self, command, timeout=10.0):
        """Send one line to the control port; return its one-line reply."""
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=timeout) as s:
            s.sendall(command.encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = s.recv(256)
                if not chunk:
                    break
                reply += chunk
        return reply.decode().strip()

    def stop(self):
        stop_process(self.proc)


def stop_process(proc, grace_s=5):
    """Terminate a child process; kill it if it has not exited after grace_s seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace_s)
