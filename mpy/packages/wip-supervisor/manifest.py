metadata(
    description="Supervisor for the wip driver: recovers from bearer loss and module reboot",
    version="0.1.0",
    license="MIT",
)
# The core lives next to this folder; a firmware manifest may also add_library() it.
add_library("micropython-wip", "..")
require("wip", library="micropython-wip")
package(
    "wip",
    files=("supervisor.py",),
    base_path="../..",
)
