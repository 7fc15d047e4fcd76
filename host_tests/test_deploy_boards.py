"""Board data: the pins are ones the chip can route to that UART, the files deploy copies
exist, and make_uart()/read_sensor() build what the board file says (run on the unix port
with a recording stand-in for `machine`)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tools import deploy

ROOT = Path(__file__).resolve().parent.parent
BOARDS = ("esp32", "rp2040")
APP_CONFIG_KEYS = {"apn", "user", "password", "transport", "mqtt_host", "mqtt_port", "topic",
                   "http_url", "period_s", "guard_time", "timeout"}

# RP2040 datasheet, GPIO function table: the pins each UART function can use.
RP2040_UART_PINS = {
    0: {"TX": {0, 12, 16, 28}, "RX": {1, 13, 17, 29}, "CTS": {2, 14, 18}, "RTS": {3, 15, 19}},
    1: {"TX": {4, 8, 20, 24}, "RX": {5, 9, 21, 25}, "CTS": {6, 10, 22, 26},
        "RTS": {7, 11, 23, 27}},
}
ESP32_FLASH_PINS = set(range(6, 12))  # wired to the SPI flash on WROOM modules
ESP32_INPUT_ONLY = set(range(34, 40))
ESP32_STRAPPING = {0, 2, 5, 12, 15}


@pytest.mark.parametrize("name", BOARDS)
def test_board_files_and_config(name):
    board = deploy.load_board(name)
    assert board.NAME == name
    assert board.ARCH in ("xtensawin", "armv6m")
    assert APP_CONFIG_KEYS <= set(board.CONFIG)
    assert board.CONFIG["guard_time"] >= 1.0  # the real module's +++ guard time (D62)
    for rel in board.FILES:
        assert (ROOT / rel).is_file(), rel
    pins = [board.TX, board.RX, board.RTS, board.CTS, board.POWER_PIN, board.RESET_PIN]
    assert len(set(pins)) == len(pins), "a pin is used twice"
    assert board.BAUD in (9600, 19200, 38400, 57600, 115200)
    assert 1024 <= board.RXBUF <= 16384


def test_rp2040_pins_are_the_uarts_function_pins():
    board = deploy.load_board("rp2040")
    allowed = RP2040_UART_PINS[board.UART_ID]
    for signal in ("TX", "RX", "CTS", "RTS"):
        assert getattr(board, signal) in allowed[signal], signal
    assert {board.POWER_PIN, board.RESET_PIN} <= set(range(0, 29))


def test_esp32_pins_are_usable():
    board = deploy.load_board("esp32")
    assert board.UART_ID in (1, 2)  # UART0 is the REPL
    pins = {board.TX, board.RX, board.RTS, board.CTS, board.POWER_PIN, board.RESET_PIN}
    assert not pins & ESP32_FLASH_PINS
    assert not pins & ESP32_STRAPPING
    for output in (board.TX, board.RTS, board.POWER_PIN, board.RESET_PIN):
        assert output not in ESP32_INPUT_ONLY


FAKE_MACHINE = """
CALLS = []


class Pin:
    OPEN_DRAIN = 7

    def __init__(self, n, mode=None, value=None):
        self.n = n
        CALLS.append(("Pin", n))


class UART:
    RTS = 1
    CTS = 2

    def __init__(self, uart_id, **kw):
        pins = {k: (v.n if isinstance(v, Pin) else v) for k, v in kw.items()
                if k in ("tx", "rx", "rts", "cts")}
        CALLS.append(("UART", uart_id, pins, kw["baudrate"], kw["flow"], kw["rxbuf"]))


class ADC:
    def __init__(self, channel):
        CALLS.append(("ADC", channel))

    def read_u16(self):
        return 14022  # 0.706 V: 27 degrees C by the RP2040 datasheet formula
"""

FAKE_ESP32 = """
def raw_temperature():
    return 113  # degrees F
"""

PROBE = """
import json
import board
import machine

board.make_uart()
t = board.read_sensor()
print(json.dumps({"calls": machine.CALLS, "temp": t}))
"""


@pytest.mark.parametrize("name", BOARDS)
def test_make_uart_and_read_sensor_on_the_unix_port(name, tmp_path, micropython_bin):
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    (tmp_path / "esp32.py").write_text(FAKE_ESP32)
    result = subprocess.run(
        [micropython_bin, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True,
        timeout=30,
        env={**os.environ, "MICROPYPATH": f"{tmp_path}:{ROOT / 'boards' / name}:.frozen"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    board = deploy.load_board(name)
    uart = [c for c in report["calls"] if c[0] == "UART"]
    assert uart == [["UART", board.UART_ID,
                     {"tx": board.TX, "rx": board.RX, "rts": board.RTS, "cts": board.CTS},
                     board.BAUD, 3, board.RXBUF]]  # flow = RTS | CTS
    assert report["temp"] == (45.0 if name == "esp32" else 27.0)


@pytest.mark.parametrize("name", BOARDS)
def test_firmware_manifest_references_what_exists(name):
    """boards/<board>/manifest.py (for FROZEN_MANIFEST=) names real files and packages."""
    folder = ROOT / "boards" / name
    calls = []
    libraries = {}

    def include(path, **kwargs):
        calls.append(("include", path))

    def add_library(library, path, prepend=False):
        libraries[library] = (folder / path).resolve()

    def require(package, version=None, library=None, **kwargs):
        calls.append(("require", package, library))

    def module(path, base_path=".", opt=None):
        calls.append(("module", (folder / base_path / path).resolve()))

    code = (folder / "manifest.py").read_text()
    exec(compile(code, str(folder / "manifest.py"), "exec"),
         {"include": include, "add_library": add_library, "require": require,
          "module": module})
    assert ("include", "$(PORT_DIR)/boards/manifest.py") in calls  # the port's own modules
    assert libraries == {"micropython-wip": ROOT / "mpy" / "packages"}
    required = [c[1:] for c in calls if c[0] == "require"]
    assert ("wip-shim", "micropython-wip") in required
    assert ("wip-supervisor", "micropython-wip") in required  # the app recovers through it
    assert ("umqtt.simple", None) in required  # from micropython-lib
    for package, library in required:
        if library:
            assert (libraries[library] / package / "manifest.py").is_file(), package
    frozen = {c[1] for c in calls if c[0] == "module"}
    assert frozen == {folder / "board.py", ROOT / "boards" / "common" / "sensor_app.py"}
