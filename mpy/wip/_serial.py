"""The code of ``wip.streams.serial_stream`` (pyserial, PC only), kept apart so that
``wip.streams`` costs less RAM where only a TCP stream or a UART is used."""

from ._host_streams import SerialStream


def open(device, baudrate=115200, rtscts=True):
    """A SerialStream on pyserial's Serial(device, baudrate) with non-blocking reads."""
    import serial

    return SerialStream(serial.Serial(device, baudrate, timeout=0, write_timeout=10,
                                      rtscts=rtscts))
