"""ESP32 DevKitC (ESP32-WROOM-32) wired to a Wavecom WIP Soft module on UART2.

UART2's default pins are GPIO17 (TX) and GPIO16 (RX); RTS/CTS go to GPIO18/GPIO19, which
are free on the DevKitC (UART2's own default RTS/CTS, GPIO7/GPIO8, belong to the SPI flash).
None of the pins is a strapping pin (0, 2, 5, 12, 15), so the module cannot upset booting.
Alternative: UART1 remapped to TX=GPIO33, RX=GPIO32, RTS=GPIO27, CTS=GPIO26 (UART1's defaults,
GPIO9/GPIO10, are flash pins too). See README "Wiring".

Importable on CPython (tools/deploy.py reads NAME, ARCH and FILES); `machine` is imported
only when the UART or a pin is built.
"""

NAME = "esp32"
ARCH = "xtensawin"  # mpy-cross -march for the ESP32's Xtensa LX6 (windowed ABI)

UART_ID = 2
TX = 17  # ESP32 TX -> module CT103/TXD (input of the module)
RX = 16  # ESP32 RX <- module CT104/RXD
RTS = 18  # ESP32 RTS -> module CT105/RTS
CTS = 19  # ESP32 CTS <- module CT106/CTS
BAUD = 115200  # the module's factory rate (AT+IPR); keep autobaud off in production
RXBUF = 4096  # UART driver ring buffer: one 1460-byte TCP segment plus URCs, with room
POWER_PIN = 25  # drives the module's ON/~OFF input through a transistor
RESET_PIN = 26  # drives the module's ~RESET input (open drain)

CONFIG = {
    "apn": "internet",
    "user": "",
    "password": "",
    "transport": "mqtt",  # or "http"
    "mqtt_host": "test.mosquitto.org",
    "mqtt_port": 1883,
    "topic": b"wip/esp32/temperature",
    "http_url": "http://example.com/readings",
    "period_s": 60,
    "guard_time": 1.0,  # the real module's +++ guard time (D62)
    "timeout": 30,
}

# Files tools/deploy.py copies next to this one (paths relative to the repo root).
FILES = ("boards/esp32/main.py", "boards/common/sensor_app.py")


def make_uart():
    """The machine.UART the modem talks through, with hardware flow control."""
    from machine import UART

    return UART(UART_ID, baudrate=BAUD, tx=TX, rx=RX, rts=RTS, cts=CTS,
                flow=UART.RTS | UART.CTS, rxbuf=RXBUF, timeout=0, timeout_char=0)


def power_cycle_module():
    """Hard-reset the module: pull ~RESET low for 100 ms, then give it 3 s to boot."""
    import time

    from machine import Pin

    reset = Pin(RESET_PIN, Pin.OPEN_DRAIN, value=1)
    reset(0)
    time.sleep_ms(100)
    reset(1)
    time.sleep(3)


def read_sensor():
    """Degrees Celsius from the ESP32 die sensor (coarse; a real app reads e.g. a DS18B20)."""
    import esp32

    return round((esp32.raw_temperature() - 32) / 1.8, 1)
