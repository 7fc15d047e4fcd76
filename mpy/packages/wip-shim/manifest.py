metadata(
    description="socket-module shim: umqtt, requests and other socket users over wip",
    version="0.1.0",
    license="MIT",
)
# The core lives next to this folder; a firmware manifest may also add_library() it.
add_library("micropython-wip", "..")
require("wip", library="micropython-wip")
package(
    "wip",
    files=("shim.py",),
    base_path="../..",
)
