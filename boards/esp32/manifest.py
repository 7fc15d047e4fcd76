# Firmware manifest: freeze the driver, umqtt.simple and the sensor app into an ESP32 build.
#   make -C ports/esp32 BOARD=ESP32_GENERIC \
#       FROZEN_MANIFEST=/path/to/micropython-wip/boards/esp32/manifest.py
# Frozen bytecode runs from flash, so the heap keeps what the .mpy files would take.
# main.py still goes on the filesystem: mpremote fs cp boards/esp32/main.py :main.py
include("$(PORT_DIR)/boards/manifest.py")
add_library("micropython-wip", "../../mpy/packages")
require("wip-shim", library="micropython-wip")  # and, through it, the core
require("wip-supervisor", library="micropython-wip")
require("umqtt.simple")
module("sensor_app.py", base_path="../common")
module("board.py")
