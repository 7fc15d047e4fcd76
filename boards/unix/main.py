"""Unix-port entry point (`make demo` runs it): the shared sensor app against the simulator.

WIP_CYCLES bounds the number of readings (default: run forever). At the end it prints one
line, "SUMMARY sent=<n> of <readings> recoveries=<n> reboots=<n> bearer_losses=<n>
generation=<n> failed_attempts=<n> dropped=<n> queued=<n>" (the supervisor's counters), and
exits 0 only when every reading was acknowledged.
"""
import os
import sys

import board
from sensor_app import SensorApp

cycles = os.getenv("WIP_CYCLES")
app = SensorApp(board)
sent = app.run(int(cycles) if cycles else None)
stats = app.stats()
print("SUMMARY sent=%d of %d" % (stats["sent"], stats["readings"]),
      " ".join("%s=%d" % (key, stats[key]) for key in
               ("recoveries", "reboots", "bearer_losses", "generation", "failed_attempts",
                "dropped", "queued")))
sys.exit(0 if stats["sent"] == stats["readings"] else 1)
