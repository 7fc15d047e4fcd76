"""Type stubs for wip._codec_py: the pure-Python codec twin and state helpers (private; the
API is wip.codec)."""

from .codec import decode_py as decode_py
from .codec import encode_py as encode_py
from .codec import encoded_len_py as encoded_len_py
from .codec import new_state as new_state
from .codec import reset_state as reset_state
