"""ESP32 entry point: the shared sensor app with this board's UART and sensor."""
import board
from sensor_app import SensorApp

SensorApp(board).run()
