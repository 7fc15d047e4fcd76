"""Type stubs for wip.streams: byte streams a Modem can talk through."""

import socket as _socket

from ._host_streams import SerialStream as SerialStream
from ._host_streams import TcpStream as TcpStream

def tcp_stream(host: str, port: int, rcvbuf: int = 4096) -> TcpStream | _socket.socket:
    """Connect to the simulator (or a raw TCP-to-UART bridge): a TcpStream on CPython, the
    non-blocking socket itself on MicroPython."""

def serial_stream(device: str, baudrate: int = 115200, rtscts: bool = True) -> SerialStream:
    """Open a serial port with pyserial (imported on first use)."""
