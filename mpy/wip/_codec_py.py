"""Pure-Python twin of the DLE/ETX codec: the reference, and the codec on CPython or on a
port without the native emitters (contract and wire rules: wip.codec), plus the decoder
state helpers. Reached as ``wip.codec.decode_py``, ``wip.codec.new_state`` etc.; on
MicroPython with viper it is imported only when asked for.
"""

from array import array

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const

_DLE = const(0x10)
_ETX = const(0x03)
_PLUS = const(0x2B)
_T = const(0x54)
_LOW_T = const(0x74)
_ST_ESC = const(0)
_ST_POS = const(1)
_ST_ETX = const(2)


def new_state():
    """A fresh decoder state: no pending DLE, position 0, no ETX seen."""
    return array("i", [0, 0, 0])


def reset_state(st):
    """Clear a state in place; a pending DLE is dropped, as when data mode ends (D65)."""
    st[_ST_ESC] = 0
    st[_ST_POS] = 0
    st[_ST_ETX] = 0


def decode_py(src, end, dst, dpos, st):
    """Decode src[st[ST_POS]:end] into dst from dpos; return the new dpos.

    DLE x gives x for any x (D65). An unescaped ETX stops decoding: st[ST_ETX] = 1 and
    st[ST_POS] is the index after the ETX. Otherwise st[ST_POS] = end and st[ST_ETX] = 0.
    A trailing DLE sets st[ST_ESC] = 1 and is resolved by the next call. dst must have room
    for end - st[ST_POS] bytes.
    """
    i = st[_ST_POS]
    esc = st[_ST_ESC]
    etx = 0
    while i < end:
        b = src[i]
        i += 1
        if esc:
            esc = 0
        elif b == _DLE:
            esc = 1
            continue
        elif b == _ETX:
            etx = 1
            break
        dst[dpos] = b
        dpos += 1
    st[_ST_ESC] = esc
    st[_ST_POS] = i
    st[_ST_ETX] = etx
    return dpos


def encode_py(src, start, end, dst, dpos, escape_more):
    """Escape src[start:end] into dst from dpos; return the new dpos.

    ETX and DLE get a DLE prefix; with escape_more, '+', 'T' and 't' do too, so a payload
    '+++' can never be taken for the escape sequence (D62) and the wire never holds "AT"
    (wip.modem). dst must have room for 2 * (end - start) bytes. escape_more is a bool or
    0/1 (the viper twin takes it as an int).
    """
    i = start
    if escape_more:
        while i < end:
            b = src[i]
            i += 1
            if b == _DLE or b == _ETX or b == _PLUS or b == _T or b == _LOW_T:
                dst[dpos] = _DLE
                dpos += 1
            dst[dpos] = b
            dpos += 1
    else:
        while i < end:
            b = src[i]
            i += 1
            if b == _DLE or b == _ETX:
                dst[dpos] = _DLE
                dpos += 1
            dst[dpos] = b
            dpos += 1
    return dpos


def encoded_len_py(src, start, end, escape_more):
    """The exact number of bytes encode() writes for src[start:end]."""
    n = end - start
    i = start
    if escape_more:
        while i < end:
            b = src[i]
            i += 1
            if b == _DLE or b == _ETX or b == _PLUS or b == _T or b == _LOW_T:
                n += 1
    else:
        while i < end:
            b = src[i]
            i += 1
            if b == _DLE or b == _ETX:
                n += 1
    return n
