"""Example sensor app shared by every board: read a sensor, publish it, recover from faults.

A board module provides CONFIG (dict), make_uart(), read_sensor() and, optionally,
power_cycle_module(). Publishing goes through the wip socket shim, so the unmodified
micropython-lib clients do the protocol work: umqtt.simple (transport "mqtt", QoS 1, so a
dead link shows up as an error instead of a silently lost message) or requests
(transport "http", a JSON POST).

All fault handling is in SensorApp.recover(): it is the one place to swap for
wip.Supervisor.
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
        self.mqtt = None
        self.ip = None
        self.seq = 0
        self.sent = []
        self.recoveries = 0

    def bring_up(self):
        """Start the module, attach the bearer and open the publisher."""
        cfg = self.cfg
        if self.modem is None:
            self.modem = wip.Modem(self.board.make_uart(), timeout=cfg.get("timeout", 30),
                                   guard_time=cfg.get("guard_time", 1.0))
            # umqtt.simple and requests do `import socket` when first imported.
            sys.modules["socket"] = self.modem.socket_module()
        self.modem.start()
        self.ip = self.modem.gprs(cfg["apn"], user=cfg.get("user", ""),
                                  password=cfg.get("password", ""))
        self.log("bearer up, ip", self.ip)
        if cfg.get("transport", "mqtt") == "mqtt":
            from umqtt.simple import MQTTClient

            self.mqtt = MQTTClient(cfg.get("client_id", "wip-" + self.board.NAME),
                                   cfg["mqtt_host"], cfg.get("mqtt_port", 1883), keepalive=0)
            self.mqtt.connect(timeout=cfg.get("timeout", 30))
            self.log("mqtt connected to", cfg["mqtt_host"], cfg.get("mqtt_port", 1883))

    def close_publisher(self):
        """Say goodbye to the broker and close the socket (on a working link)."""
        if self.mqtt is not None:
            try:
                self.mqtt.disconnect()
            except OSError:  # the link broke meanwhile: start() will forget the socket
                pass
            self.mqtt = None

    def publish(self, reading):
        """Send one reading; raises (OSError, mostly) when the link is broken."""
        payload = json.dumps({"seq": self.seq, "board": self.board.NAME,
                              "temp_c": reading, "uptime_ms": ticks_ms()})
        if self.cfg.get("transport", "mqtt") == "mqtt":
            if self.mqtt is None:
                raise OSError("mqtt not connected")
            self.mqtt.publish(self.cfg["topic"], payload.encode(), qos=1)
        else:
            import requests

            resp = requests.post(self.cfg["http_url"], data=payload,
                                 headers={"Content-Type": "application/json"},
                                 timeout=self.cfg.get("timeout", 30))
            status = resp.status_code
            resp.close()
            if not 200 <= status <= 299:
                raise OSError("http status %d" % status)
        self.log("sent", payload)
        self.sent.append(self.seq)

    def recover(self, error):
        """Bring the link back after `error`: restart the module and bearer, reconnect.

        Covers bearer loss (the bearer is reopened) and module reboot (start() re-syncs and
        re-initialises the stack). Backs off between attempts; after `recover_attempts`
        failures it power-cycles the module when the board can. Returns True once up.
        """
        self.log("link down:", repr(error))
        # The publisher's socket is not closed: on a dead link that would wait for the data
        # mode escape to time out. Modem.start() below forgets every socket anyway.
        self.mqtt = None
        delay = self.cfg.get("backoff_s", 1.0)
        for attempt in range(self.cfg.get("recover_attempts", 5)):
            try:
                self.bring_up()
                self.recoveries += 1
                self.log("recovered after", attempt + 1, "attempt(s)")
                return True
            except Exception as exc:  # OSError, or umqtt's MQTTException (broker refused)
                self.log("recovery attempt", attempt + 1, "failed:", repr(exc))
                self.mqtt = None
                time.sleep(delay)
                delay = min(delay * 2, self.cfg.get("backoff_max_s", 60))
        power_cycle = getattr(self.board, "power_cycle_module", None)
        if power_cycle is not None:
            self.log("power-cycling the module")
            power_cycle()
        return False

    def run(self, cycles=None):
        """Publish every period_s seconds; `cycles` bounds the number of readings."""
        try:
            self.bring_up()
        except Exception as exc:  # see publish failures below
            self.recover(exc)
        while cycles is None or self.seq < cycles:
            reading = self.board.read_sensor()
            for _ in range(2):  # a reading that failed is sent once more on the fresh link
                try:
                    self.publish(reading)
                    break
                except Exception as exc:
                    # Not only OSError: after a module reboot its boot lines can arrive as
                    # stream data, and umqtt then fails its own asserts or indexes b"".
                    if not self.recover(exc):
                        break
            self.seq += 1
            time.sleep(self.cfg.get("period_s", 60))
        self.close_publisher()
        return self.sent
