"""CPython stand-ins for the MicroPython builtins the driver uses (``const``, ``time.ticks_*``,
``sleep_ms``). Imported only where ``micropython``/``time.ticks_ms`` are missing, so a board
never loads it and the other modules' bytecode does not carry these fallbacks (RAM).
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
