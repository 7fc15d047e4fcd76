metadata(
    description="HTTP client sessions for the wip driver (+WIPCREATE=5)",
    version="0.1.0",
    license="MIT",
)
# The core lives next to this folder; a firmware manifest may also add_library() it.
add_library("micropython-wip", "..")
require("wip", library="micropython-wip")
package(
    "wip",
    files=("http.py",),
    base_path="../..",
)
