"""DLE/ETX data-mode codec over caller-owned buffers (spec §3.2, §3.3; D62, D65).

Wire rules: DLE (0x10) escapes the byte after it, whatever it is, and an unescaped ETX (0x03)
is a control event (end of datagram, TCP shutdown, end of file). The decoder keeps its state in
a small `array("i")` so a DLE at the end of one read is resolved by the next read.

The functions here are the pure-Python reference. On MicroPython, `decode`, `encode` and
`encoded_len` are replaced by the `@micropython.viper` twins of `wip._codec_viper` (same
signatures); `IMPL` says which set is active and `decode_py` etc. stay reachable. Neither set
allocates: no slicing, no bytes objects, only small ints. The viper twins do no bounds
checking, so callers must respect the documented buffer sizes.
"""

import sys
from array import array

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


DLE = const(0x10)
ETX = const(0x03)
PLUS = const(0x2B)

# Indexes into the decoder state made by new_state().
ST_ESC = const(0)  # in/out: 1 while a DLE from the previous chunk is pending
ST_POS = const(1)  # in/out: where decoding starts in src; set to where it stopped
ST_ETX = const(2)  # out: 1 if decoding stopped right after an unescaped ETX (consumed)


def new_state():
    """A fresh decoder state: no pending DLE, position 0, no ETX seen."""
    return array("i", [0, 0, 0])


def reset_state(st):
    """Clear a state in place; a pending DLE is dropped, as when data mode ends (D65)."""
    st[ST_ESC] = 0
    st[ST_POS] = 0
    st[ST_ETX] = 0


def decode_py(src, end, dst, dpos, st):
    """Decode src[st[ST_POS]:end] into dst from dpos; return the new dpos.

    DLE x gives x for any x (D65). An unescaped ETX stops decoding: st[ST_ETX] = 1 and
    st[ST_POS] is the index after the ETX. Otherwise st[ST_POS] = end and st[ST_ETX] = 0.
    A trailing DLE sets st[ST_ESC] = 1 and is resolved by the next call. dst must have room
    for end - st[ST_POS] bytes.
    """
    i = st[ST_POS]
    esc = st[ST_ESC]
    etx = 0
    while i < end:
        b = src[i]
        i += 1
        if esc:
            esc = 0
        elif b == DLE:
            esc = 1
            continue
        elif b == ETX:
            etx = 1
            break
        dst[dpos] = b
        dpos += 1
    st[ST_ESC] = esc
    st[ST_POS] = i
    st[ST_ETX] = etx
    return dpos


def encode_py(src, start, end, dst, dpos, escape_plus):
    """Escape src[start:end] into dst from dpos; return the new dpos.

    ETX and DLE get a DLE prefix; with escape_plus, '+' does too, so a payload '+++' can never
    be taken for the escape sequence (D62). dst must have room for 2 * (end - start) bytes.
    escape_plus is a bool or 0/1 (the viper twin takes it as an int).
    """
    i = start
    if escape_plus:
        while i < end:
            b = src[i]
            i += 1
            if b == DLE or b == ETX or b == PLUS:
                dst[dpos] = DLE
                dpos += 1
            dst[dpos] = b
            dpos += 1
    else:
        while i < end:
            b = src[i]
            i += 1
            if b == DLE or b == ETX:
                dst[dpos] = DLE
                dpos += 1
            dst[dpos] = b
            dpos += 1
    return dpos


def encoded_len_py(src, start, end, escape_plus):
    """The exact number of bytes encode() writes for src[start:end]."""
    n = end - start
    i = start
    if escape_plus:
        while i < end:
            b = src[i]
            i += 1
            if b == DLE or b == ETX or b == PLUS:
                n += 1
    else:
        while i < end:
            b = src[i]
            i += 1
            if b == DLE or b == ETX:
                n += 1
    return n


decode = decode_py
encode = encode_py
encoded_len = encoded_len_py
IMPL = "python"

if sys.implementation.name == "micropython":
    try:
        from . import _codec_viper
    except (ImportError, SyntaxError, ValueError):
        # A port built without the native emitters, or a .mpy of the wrong arch.
        _codec_viper = None
    if _codec_viper is not None:
        decode = _codec_viper.decode
        encode = _codec_viper.encode
        encoded_len = _codec_viper.encoded_len
        IMPL = "viper"
