"""`# needs: mosquitto` for MicroPython test scripts: Debian's real MQTT broker on loopback.

Environment given to the script: MQTT_HOST ("127.0.0.1"), MQTT_PORT, MQTT_BROKER_LOG (the
broker's log) and MQTT_SUB_LOG: a CPython subscriber to "#" (QoS 1) appends one line per
message it receives, `<topic> <payload as hex>`, so a script can check what other clients of
the broker saw.

Also usable outside pytest (tools/demo.py): `start_mosquitto()` returns a running broker
(.host, .port, .log_path, .stop()), and `MqttSubscriber(port, topic)` is a small CPython MQTT
3.1.1 client that records what the broker delivers (.messages: list of (topic, payload)).
"""

import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from host_tests.servers import free_port, wait_for_port
from tools.wipsim.process import stop_process

MOSQUITTO = "/usr/sbin/mosquitto"


class Mosquitto:
    """mosquitto -c <generated conf>: one listener on 127.0.0.1, anonymous clients allowed."""

    def __init__(self):
        self.host = "127.0.0.1"
        self.dir = Path(tempfile.mkdtemp(prefix="wip-mosquitto-"))
        self.log_path = self.dir / "mosquitto.log"
        self.proc = None
        for _ in range(5):  # a free port can be taken between free_port() and bind
            self.port = free_port()
            conf = self.dir / "mosquitto.conf"
            conf.write_text(
                f"listener {self.port} 127.0.0.1\n"
                "allow_anonymous true\n"
                "persistence false\n"
                "log_dest stdout\n"
                "log_type error\nlog_type warning\nlog_type notice\n"
            )
            log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
            self._log = log
            try:
                wait_for_port(self.port, deadline_s=10.0)
                if self.proc.poll() is None:
                    return
            except Exception:
                pass
            self.stop()
        raise RuntimeError("mosquitto did not start:\n" + self.log_path.read_text())

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def remove(self):
        """Stop, and delete the config and log folder."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_mosquitto():
    return Mosquitto()


def provide(request):
    broker = start_mosquitto()
    request.addfinalizer(broker.remove)
    sub_log = broker.dir / "subscriber.log"
    subscriber = MqttSubscriber(broker.port, "#", client_id="wip-test-observer",
                                log_path=sub_log)
    request.addfinalizer(subscriber.close)
    return {"MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
            "MQTT_BROKER_LOG": str(broker.log_path), "MQTT_SUB_LOG": str(sub_log)}


def _remaining_length(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mqtt_str(text):
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(data)) + data


class MqttSubscriber:
    """A CPython MQTT 3.1.1 subscriber (QoS 1) recording every PUBLISH in .messages."""

    def __init__(self, port, topic, host="127.0.0.1", client_id="wip-test-sub", timeout=10,
                 log_path=None):
        self.messages = []
        self.log_path = log_path
        if log_path is not None:
            Path(log_path).write_text("")
        self.sock = socket.create_connection((host, port), timeout=timeout)
        body = _mqtt_str("MQTT") + bytes((4, 0x02)) + struct.pack("!H", 60) + \
            _mqtt_str(client_id)
        self.sock.sendall(b"\x10" + _remaining_length(len(body)) + body)
        kind, payload = self._read_packet()
        if kind & 0xF0 != 0x20 or payload[1] != 0:
            raise OSError(f"MQTT CONNACK refused: {kind:#x} {payload!r}")
        body = struct.pack("!H", 1) + _mqtt_str(topic) + b"\x01"
        self.sock.sendall(b"\x82" + _remaining_length(len(body)) + body)
        kind, payload = self._read_packet()
        if kind & 0xF0 != 0x90 or payload[-1] == 0x80:
            raise OSError(f"MQTT SUBACK refused: {kind:#x} {payload!r}")
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def _read_packet(self):
        first = self._read_exact(1)[0]
        length, shift = 0, 0
        while True:
            byte = self._read_exact(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return first, self._read_exact(length)

    def _run(self):
        while not self._stop.is_set():
            try:
                kind, payload = self._read_packet()
            except TimeoutError:
                continue
            except OSError:
                return
            if kind & 0xF0 != 0x30:
                continue
            topic_len = struct.unpack("!H", payload[:2])[0]
            topic = payload[2:2 + topic_len].decode()
            rest = payload[2 + topic_len:]
            if kind & 0x06:  # QoS 1: a packet id to acknowledge
                pid, rest = rest[:2], rest[2:]
                self.sock.sendall(b"\x40\x02" + pid)
            self.messages.append((topic, rest))
            if self.log_path is not None:
                with open(self.log_path, "a") as log:
                    log.write(f"{topic} {rest.hex()}\n")

    def wait_for(self, count, deadline_s=10.0):
        """Wait until `count` messages arrived (or the deadline passes); return them."""
        deadline = time.monotonic() + deadline_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)

    def close(self):
        self._stop.set()
        try:
            self.sock.sendall(b"\xe0\x00")
        except OSError:
            pass
        self._thread.join(2)
        self.sock.close()
