"""The MicroPython unix port (or CPython) talking to the simulator: the board of `make demo`.

The "UART" is the simulator's TCP port, the sensor a deterministic simulated temperature.
Settings come from the environment (tools/demo.py sets them):
  WIP_SIM_PORT (required), WIP_SIM_HOST (127.0.0.1), WIP_GUARD_TIME (s, 0.2),
  WIP_TRANSPORT ("mqtt" or "http"), MQTT_PORT, MQTT_TOPIC, HTTP_URL, WIP_PERIOD (s, 0.5),
  WIP_TIMEOUT (s, 5), WIP_CHECK_INTERVAL (s, 10), WIP_DEBUG (non-empty: print the AT
  transcript).
No ARCH: tools/deploy.py has nothing to cross-compile for this board.
"""

import math
import os

NAME = "unix"


def _env(name, default=None):
    value = os.getenv(name)
    return default if value is None or value == "" else value


CONFIG = {
    "apn": "internet",
    "user": "",
    "password": "",
    "transport": _env("WIP_TRANSPORT", "mqtt"),
    "mqtt_host": "127.0.0.1",
    "mqtt_port": int(_env("MQTT_PORT", "1883")),
    "topic": _env("MQTT_TOPIC", "wip/unix/temperature").encode(),
    "http_url": _env("HTTP_URL", "http://127.0.0.1:8080/readings"),
    "period_s": float(_env("WIP_PERIOD", "0.5")),
    "guard_time": float(_env("WIP_GUARD_TIME", "0.2")),
    "timeout": float(_env("WIP_TIMEOUT", "5")),
    # wip.Supervisor: probe the bearer every 10 s even without errors; retry a failed
    # recovery after 0.5 s, 1 s, 2 s, 2 s ...; give the queue 20 s to drain at the end.
    "check_interval_s": float(_env("WIP_CHECK_INTERVAL", "10")),
    "backoff_s": 0.5,
    "backoff_max_s": 2,
    "drain_s": 20,
}

if _env("WIP_DEBUG"):
    CONFIG["debug"] = lambda direction, text: print("wip", direction, text)

_readings = [0]


def make_uart():
    """The simulator's TCP port stands in for the UART."""
    import wip

    return wip.tcp_stream(_env("WIP_SIM_HOST", "127.0.0.1"), int(_env("WIP_SIM_PORT")))


def read_sensor():
    """A slow deterministic wave around 21.5 degrees C (one step per reading)."""
    n = _readings[0]
    _readings[0] = n + 1
    return round(21.5 + 1.5 * math.sin(n / 3), 2)
