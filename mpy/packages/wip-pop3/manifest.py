metadata(
    description="POP3 sessions for the wip driver (+WIPCREATE=7)",
    version="0.1.0",
    license="MIT",
)
# The core lives next to this folder; a firmware manifest may also add_library() it.
add_library("micropython-wip", "..")
require("wip", library="micropython-wip")
package(
    "wip",
    files=("pop3.py",),
    base_path="../..",
)
