"""DLE/ETX data-mode codec over caller-owned buffers (spec §3.2, §3.3; D62, D65).

Wire rules: DLE (0x10) escapes the byte after it, whatever it is, and an unescaped ETX (0x03)
is a control event (end of datagram, TCP shutdown, end of file). The decoder keeps its state in
a small `array("i")` so a DLE at the end of one read is resolved by the next read.

`decode`, `encode` and `encoded_len` are the `@micropython.viper` functions of
`wip._codec_viper` on MicroPython, else their pure-Python twins `decode_py`, `encode_py`,
`encoded_len_py` (the reference, in `wip._codec_py`: same signatures, same results); `IMPL`
says which set is active and the `_py` names stay reachable on every port. Neither set
allocates: no slicing, no bytes objects, only small ints. The viper twins do no bounds
checking, so callers must respect the documented buffer sizes.
"""

import sys

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


DLE = const(0x10)
ETX = const(0x03)
PLUS = const(0x2B)

# Indexes into the decoder state made by new_state(): an array("i") of three.
ST_ESC = const(0)  # in/out: 1 while a DLE from the previous chunk is pending
ST_POS = const(1)  # in/out: where decoding starts in src; set to where it stopped
ST_ETX = const(2)  # out: 1 if decoding stopped right after an unescaped ETX (consumed)


decode = encode = encoded_len = None
IMPL = "python"

if sys.implementation.name == "micropython":
    try:
        from ._codec_viper import decode, encode, encoded_len

        IMPL = "viper"
    except (ImportError, SyntaxError, ValueError):
        pass  # a port built without the native emitters, or a .mpy of the wrong arch
if decode is None:
    from ._codec_py import decode_py as decode
    from ._codec_py import encode_py as encode  # noqa: F401
    from ._codec_py import encoded_len_py as encoded_len  # noqa: F401

# The pure-Python twin under its own names and the state helpers (wip._codec_py): imported
# when first asked for (the driver's parser does not need them).
_LAZY = (" decode_py=_codec_py encode_py=_codec_py encoded_len_py=_codec_py"
         " new_state=_codec_py reset_state=_codec_py ")


def __getattr__(name):
    if " %s=" % name not in _LAZY:
        raise AttributeError(name)
    from . import _codec_py

    return getattr(_codec_py, name)
