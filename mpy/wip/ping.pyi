"""Type stubs for wip.ping: ICMP echo through the module (+WIPPING)."""

from .modem import Modem

def ping(m: Modem, host: str, count: int = 4, interval_ms: int = 1000, timeout_ms: int = 2000,
         size: int = 32, ttl: int | None = 64) -> list[int | None]:
    """Round trip in ms per packet, None for a packet that timed out."""
