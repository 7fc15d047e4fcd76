"""The leading silence of a guarded `+++` (D62): G minus min(G/5, 50 ms) is accepted, so the
driver's guard survives a few ms of scheduling delay; anything shorter makes the `+` data."""

import pytest

from tools.wipsim.datamode import EscapeDetector


@pytest.mark.parametrize("guard,accepted,refused", [
    (1.0, 0.951, 0.949),  # margin capped at 50 ms
    (0.2, 0.161, 0.159),  # margin G/5 = 40 ms
    (0.05, 0.041, 0.039),  # margin G/5 = 10 ms
])
def test_leading_silence_tolerance(guard, accepted, refused):
    det = EscapeDetector(guard, now=0.0)
    assert det.feed(b"+++", accepted) == b""
    assert det.holding
    assert det.poll(accepted + guard - 0.001) is None
    assert det.poll(accepted + guard + 1e-6) == "escape"

    det = EscapeDetector(guard, now=0.0)
    assert det.feed(b"+++", refused) == b"+++"
    assert not det.holding


def test_silence_after_the_third_plus_is_the_full_guard():
    det = EscapeDetector(0.2, now=0.0)
    assert det.feed(b"+++", 1.0) == b""
    assert det.feed(b"x", 1.0 + 0.199) == b"+++x"
    assert not det.holding
