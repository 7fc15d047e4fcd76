"""`# needs: http` for MicroPython test scripts: the recording HTTP server of servers.py.

Environment given to the script: WIP_HTTP_URL (GET of a deterministic 256 KB body),
WIP_HTTP_SIZE and WIP_HTTP_SHA256 of that body, and WIP_HTTP_BASE ("http://127.0.0.1:<port>")
for other paths (/status/<code>, /bytes/<n>?seed=<s>, ...); WIP_MPY_PATH, the driver
precompiled for the unix port (mpy_needs/ftp.py `compiled_driver`).
"""

import hashlib

from host_tests.mpy_needs.ftp import compiled_driver
from host_tests.servers import random_bytes, start_http_server

BODY_SIZE = 256 * 1024
SEED = 9


def provide(request):
    server = start_http_server()
    request.addfinalizer(server.stop)
    return {
        "WIP_HTTP_BASE": server.url(""),
        "WIP_HTTP_URL": server.url(f"/bytes/{BODY_SIZE}?seed={SEED}"),
        "WIP_HTTP_SIZE": str(BODY_SIZE),
        "WIP_HTTP_SHA256": hashlib.sha256(random_bytes(BODY_SIZE, SEED)).hexdigest(),
        **compiled_driver(request),
    }
