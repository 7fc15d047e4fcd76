"""Unix-port entry point (`make demo` runs it): the shared sensor app against the simulator.

WIP_CYCLES bounds the number of readings (default: run forever).
"""
import os
import sys

import board
from sensor_app import SensorApp

cycles = os.getenv("WIP_CYCLES")
app = SensorApp(board)
sent = app.run(int(cycles) if cycles else None)
print("SUMMARY sent=%d of %d recoveries=%d" % (len(sent), app.seq, app.recoveries))
sys.exit(0 if len(sent) == app.seq else 1)
