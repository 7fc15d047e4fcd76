"""Type stubs for wip._serial: the code of wip.streams.serial_stream (private)."""

from ._host_streams import SerialStream

def open(device: str, baudrate: int = 115200, rtscts: bool = True) -> SerialStream: ...
