"""Viper twins of the wip.codec functions (MicroPython only; see codec.py for the contract).

Same signatures and results as decode_py/encode_py/encoded_len_py. The buffers arrive as raw
pointers (ptr8 for bytes/bytearray/memoryview, ptr32 for the array("i") state), so nothing
is bounds-checked and nothing is allocated. Loops test `b > DLE` (or `b <= DLE`) first so
the common byte costs one comparison. array("i") items are C ints, 32 bits on every port
(the 64-bit unix port included), which is what ptr32 reads and writes.
"""

import micropython

_DLE = const(0x10)
_ETX = const(0x03)
_PLUS = const(0x2B)
_LOW_T = const(0x74)  # 't'; 'T' | 0x20 is 't' too
_ST_ESC = const(0)
_ST_POS = const(1)
_ST_ETX = const(2)


@micropython.viper
def decode(src: ptr8, end: int, dst: ptr8, dpos: int, st: ptr32) -> int:
    i = int(st[_ST_POS])
    esc = int(st[_ST_ESC])
    etx = 0
    if esc and i < end:
        dst[dpos] = src[i]
        dpos += 1
        i += 1
        esc = 0
    while i < end:
        b = src[i]
        i += 1
        if b > _DLE:  # most bytes: one comparison
            dst[dpos] = b
            dpos += 1
        elif b == _DLE:  # D65: DLE x -> x for any x; a trailing DLE waits for the next read
            if i == end:
                esc = 1
                break
            dst[dpos] = src[i]
            dpos += 1
            i += 1
        elif b == _ETX:
            etx = 1
            break
        else:
            dst[dpos] = b
            dpos += 1
    st[_ST_ESC] = esc
    st[_ST_POS] = i
    st[_ST_ETX] = etx
    return dpos


@micropython.viper
def encode(src: ptr8, start: int, end: int, dst: ptr8, dpos: int, escape_more: int) -> int:
    i = start
    if escape_more:
        while i < end:
            b = src[i]
            i += 1
            if (b <= _PLUS and (b == _DLE or b == _ETX or b == _PLUS)) or (b | 0x20) == _LOW_T:
                dst[dpos] = _DLE
                dpos += 1
            dst[dpos] = b
            dpos += 1
    else:
        while i < end:
            b = src[i]
            i += 1
            if b <= _DLE and (b == _DLE or b == _ETX):
                dst[dpos] = _DLE
                dpos += 1
            dst[dpos] = b
            dpos += 1
    return dpos


@micropython.viper
def encoded_len(src: ptr8, start: int, end: int, escape_more: int) -> int:
    n = end - start
    i = start
    if escape_more:
        while i < end:
            b = src[i]
            i += 1
            if (b <= _PLUS and (b == _DLE or b == _ETX or b == _PLUS)) or (b | 0x20) == _LOW_T:
                n += 1
    else:
        while i < end:
            b = src[i]
            i += 1
            if b <= _DLE and (b == _DLE or b == _ETX):
                n += 1
    return n
