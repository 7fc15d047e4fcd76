"""Raspberry Pi Pico (RP2040) wired to a Wavecom WIP Soft module on UART0.

UART0's hardware function pins: GP0 TX, GP1 RX, GP2 CTS, GP3 RTS (physical pins 1, 2, 4, 5).
Alternative: UART1 on GP4 TX, GP5 RX, GP6 CTS, GP7 RTS (physical pins 6, 7, 9, 10); set
UART_ID = 1 and those pin numbers. See README "Wiring".

Importable on CPython (tools/deploy.py reads NAME, ARCH and FILES); `machine` is imported
only when the UART or a pin is built.
"""

NAME = "rp2040"
ARCH = "armv6m"  # mpy-cross -march for the RP2040's Cortex-M0+

UART_ID = 0
TX = 0  # GP0: Pico TX -> module CT103/TXD (input of the module)
RX = 1  # GP1: Pico RX <- module CT104/RXD
CTS = 2  # GP2: Pico CTS <- module CT106/CTS
RTS = 3  # GP3: Pico RTS -> module CT105/RTS
BAUD = 115200
RXBUF = 2048  # the RP2040 port allocates the ring buffer from the heap: keep it modest
POWER_PIN = 14  # GP14 drives the module's ON/~OFF input through a transistor
RESET_PIN = 15  # GP15 drives the module's ~RESET input (open drain)

CONFIG = {
    "apn": "internet",
    "user": "",
    "password": "",
    "transport": "mqtt",  # or "http"
    "mqtt_host": "test.mosquitto.org",
    "mqtt_port": 1883,
    "topic": b"wip/rp2040/temperature",
    "http_url": "http://example.com/readings",
    "period_s": 60,
    "guard_time": 1.0,  # the real module's +++ guard time (D62)
    "timeout": 30,
}

# Files tools/deploy.py copies next to this one (paths relative to the repo root).
FILES = ("boards/rp2040/main.py", "boards/common/sensor_app.py")


def make_uart():
    """The machine.UART the modem talks through, with hardware flow control."""
    from machine import UART, Pin

    return UART(UART_ID, baudrate=BAUD, tx=Pin(TX), rx=Pin(RX), cts=Pin(CTS), rts=Pin(RTS),
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
    """Degrees Celsius from the RP2040's internal sensor on ADC4 (datasheet formula)."""
    from machine import ADC

    volts = ADC(4).read_u16() * 3.3 / 65535
    return round(27 - (volts - 0.706) / 0.001721, 1)
