"""Example sensor app shared by every board: read a sensor, publish it, survive faults.

A board module provides NAME, CONFIG (dict), make_uart(), read_sensor() and, optionally,
power_cycle_module(). Publishing goes through the wip socket shim, so the unmodified
micropython-lib clients do the protocol work: umqtt.simple (transport "mqtt", QoS 1, so a
dead link shows up as an error instead of a silently lost message) or requests
(transport "http", a JSON POST).

Fault handling is wip.Supervisor's: each cycle the app calls ``sup.check()`` (which detects
module reboots and bearer loss and re-runs start()/gprs() with its own back-off), reports
publish errors with ``sup.report_error(exc)`` and, when ``sup.generation`` changes, replaces
its MQTT client (sockets die with the link). Readings wait in a bounded queue until the
server acknowledges them (MQTT PUBACK, HTTP 2xx), so none is lost to an outage: a reading
whose acknowledgement was lost is published again (at least once; `seq` identifies it).

CONFIG keys: apn, user, password, transport ("mqtt"/"http"), mqtt_host, mqtt_port, topic,
client_id, http_url, period_s, guard_time, timeout, and optionally check_interval_s (30),
backoff_s (1), backoff_max_s (300), queue_max (100), drain_s (60: how long run(cycles)
keeps trying to deliver the queue after the last reading), power_cycle_after (5 failed
recovery attempts in a row, then power_cycle_module() when the board has it), debug (a
Modem(debug=...) transcript callable).
"""

import json
import sys
import time

import wip

try:
    from time import ticks_ms
except ImportError:  # CPython

    def ticks_ms():
        return int(time.monotonic() * 1000)


class SensorApp:
    """Publishes one reading per period; `sent` lists the sequence numbers the server acked."""

    def __init__(self, board, log=print):
        self.board = board
        self.cfg = board.CONFIG
        self.log = log
        self.modem = None
        self.sup = None
        self.mqtt = None
        self.mqtt_generation = None  # the supervisor generation self.mqtt was opened in
        self.seq = 0
        self.queue = []  # [(seq, payload)] not yet acknowledged, oldest first
        self.sent = []
        self.dropped = []
        self.failed_attempts = 0  # recovery attempts failed in a row

    @property
    def transport(self):
        return self.cfg.get("transport", "mqtt")

    def setup(self):
        """Create the modem, install the socket shim and attach a Supervisor (no I/O yet)."""
        cfg = self.cfg
        self.modem = wip.Modem(self.board.make_uart(), timeout=cfg.get("timeout", 30),
                               guard_time=cfg.get("guard_time", 1.0), debug=cfg.get("debug"))
        # umqtt.simple and requests do `import socket` when first imported.
        sys.modules["socket"] = self.modem.socket_module()
        self.sup = wip.Supervisor(
            self.modem, cfg["apn"], cfg.get("user", ""), cfg.get("password", ""),
            check_interval=cfg.get("check_interval_s", 30),
            backoff_initial=cfg.get("backoff_s", 1.0),
            backoff_max=cfg.get("backoff_max_s", 300),
            on_up=self._link_up, on_down=self._link_down, on_error=self._link_error)

    # -- supervisor callbacks (they must not publish: the link may be mid-recovery) -----------
    def _link_up(self, sup):
        self.failed_attempts = 0
        self.log("link up, ip", sup.ip, "generation", sup.generation,
                 "recoveries", sup.recoveries)

    def _link_down(self, sup, reason):
        if sup.last_error is None:
            self.log("link down:", reason)
        else:
            self.log("link down:", reason, repr(sup.last_error))

    def _link_error(self, sup, exc):
        self.failed_attempts += 1
        self.log("recovery attempt failed:", repr(exc))
        power_cycle = getattr(self.board, "power_cycle_module", None)
        limit = self.cfg.get("power_cycle_after", 5)
        if power_cycle is not None and self.failed_attempts >= limit:
            self.log("power-cycling the module")
            self.failed_attempts = 0
            power_cycle()

    # -- publishing ---------------------------------------------------------------------------
    def _open_publisher(self):
        """An MQTT client connected over the current link generation (HTTP needs none)."""
        if self.transport != "mqtt" or (self.mqtt is not None
                                         and self.mqtt_generation == self.sup.generation):
            return
        self._drop_publisher()
        from umqtt.simple import MQTTClient

        cfg = self.cfg
        client = MQTTClient(cfg.get("client_id", "wip-" + self.board.NAME), cfg["mqtt_host"],
                            cfg.get("mqtt_port", 1883), keepalive=0)
        client.connect(timeout=cfg.get("timeout", 30))
        self.mqtt = client
        self.mqtt_generation = self.sup.generation
        self.log("mqtt connected to", cfg["mqtt_host"], cfg.get("mqtt_port", 1883),
                 "generation", self.sup.generation)

    def _drop_publisher(self):
        """Close the old client's socket. Called only with the link up (check() was True):
        on a dead link leaving data mode would wait for the +++ reply to time out."""
        client, self.mqtt = self.mqtt, None
        if client is not None and client.sock is not None:
            try:
                client.sock.close()  # frees the module socket index (a no-op after a reboot)
            except Exception:  # the socket was already dead: nothing left to free
                pass

    def _send(self, payload):
        """Deliver one payload; returns once the server acknowledged it, raises otherwise."""
        if self.transport == "mqtt":
            self.mqtt.publish(self.cfg["topic"], payload.encode(), qos=1)
            return
        import requests

        resp = requests.post(self.cfg["http_url"], data=payload,
                             headers={"Content-Type": "application/json"},
                             timeout=self.cfg.get("timeout", 30))
        status = resp.status_code
        resp.close()
        if not 200 <= status <= 299:
            raise OSError("http status %d" % status)

    def take_reading(self):
        """Read the sensor and queue the reading (the oldest is dropped when full)."""
        payload = json.dumps({"seq": self.seq, "board": self.board.NAME,
                              "temp_c": self.board.read_sensor(), "uptime_ms": ticks_ms()})
        self.queue.append((self.seq, payload))
        self.seq += 1
        if len(self.queue) > self.cfg.get("queue_max", 100):
            seq, _ = self.queue.pop(0)
            self.dropped.append(seq)
            self.log("queue full, dropped reading", seq)

    def step(self):
        """Let the supervisor check (and if needed recover) the link, then publish the queue.

        Returns True when the queue is empty afterwards.
        """
        if not self.sup.check():
            return not self.queue
        try:
            self._open_publisher()
            while self.queue:
                seq, payload = self.queue[0]
                self._send(payload)
                self.queue.pop(0)
                self.sent.append(seq)
                self.log("sent", payload)
        except Exception as exc:
            # Not only OSError: after a module reboot its boot lines can arrive as stream
            # data, and umqtt then fails its own asserts or indexes b"".
            self.log("publish failed:", repr(exc))
            self.mqtt_generation = None  # reconnect once check() says the link is fine
            self.sup.report_error(exc)
            return False
        return True

    def close_publisher(self):
        """Say goodbye to the broker and close the socket (on a working link)."""
        if self.mqtt is not None and self.sup.up:
            try:
                self.mqtt.disconnect()
            except Exception:  # the link broke meanwhile
                pass
        self.mqtt = None

    def stats(self):
        """Readings and the supervisor's counters, for a summary line."""
        sup = self.sup
        return {"sent": len(self.sent), "readings": self.seq, "queued": len(self.queue),
                "dropped": len(self.dropped), "recoveries": sup.recoveries if sup else 0,
                "reboots": sup.reboots if sup else 0,
                "bearer_losses": sup.bearer_losses if sup else 0,
                "generation": sup.generation if sup else 0,
                "failed_attempts": sup.failures if sup else 0}

    def run(self, cycles=None):
        """Take a reading every period_s seconds and publish; `cycles` bounds the readings,
        after which the queue is delivered for up to drain_s seconds. Returns `sent`."""
        if self.sup is None:
            self.setup()
        period = self.cfg.get("period_s", 60)
        while cycles is None or self.seq < cycles:
            self.take_reading()
            self.step()
            time.sleep(period)
        drain_until = time.time() + self.cfg.get("drain_s", 60)
        while not self.step() and time.time() < drain_until:
            time.sleep(min(period, 1))
        self.close_publisher()
        return self.sent
