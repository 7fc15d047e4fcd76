"""WIP Soft module simulator: `python -m tools.wipsim` or `from tools.wipsim import Simulator`."""

from .sim import Simulator

__all__ = ["Simulator"]
