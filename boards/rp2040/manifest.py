# Firmware manifest: freeze the driver, umqtt.simple and the sensor app into an RP2040 build.
#   make -C ports/rp2 BOARD=RPI_PICO \
#       FROZEN_MANIFEST=/path/to/micropython-wip/boards/rp2040/manifest.py
# Frozen bytecode runs from flash, so the heap keeps what the .mpy files would take.
# main.py still goes on the filesystem: mpremote fs cp boards/rp2040/main.py :main.py
include("$(PORT_DIR)/boards/manifest.py")
add_library("micropython-wip", "../../mpy/packages")
require("wip-shim", library="micropython-wip")  # and, through it, the core
require("wip-supervisor", library="micropython-wip")
require("umqtt.simple")
module("sensor_app.py", base_path="../common")
module("board.py")
