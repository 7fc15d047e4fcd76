"""`# needs: ftp` for MicroPython test scripts: a pyftpdlib server holding a 256 KB file.

Environment given to the script: WIP_FTP_HOST, WIP_FTP_PORT, WIP_FTP_USER, WIP_FTP_PASS,
WIP_FTP_FILE (server path of the file), WIP_FTP_SIZE (its length) and WIP_FTP_SHA256 (hex
digest), so the script can check a streamed download without holding the file; and
WIP_MPY_PATH (see `compiled_driver`).
"""

import hashlib
import subprocess
import sys
from pathlib import Path

from host_tests.servers import random_bytes, start_ftp_server

ROOT = Path(__file__).resolve().parents[2]
FILE_NAME = "stream256k.bin"
FILE_SIZE = 256 * 1024
SEED = 5


def compiled_driver(request):
    """{"WIP_MPY_PATH": dir}: the driver precompiled with mpy-cross for the unix port (x64).

    A board runs the driver as .mpy files or frozen, not compiled from source on the device:
    compiling modem.py alone needs more than a 64 KB heap. A script puts this directory in
    front of sys.path before `import wip` to run the same way.
    """
    from tools.build_mpy import mpy_cross_binary

    out = request.getfixturevalue("tmp_path_factory").mktemp("wip-mpy")
    (out / "wip").mkdir()
    for src in sorted((ROOT / "mpy" / "wip").glob("*.py")):
        dest = out / "wip" / (src.stem + ".mpy")
        subprocess.run([mpy_cross_binary(), "-march=x64", "-s", "wip/" + src.name, "-o",
                        str(dest), str(src)], check=True, capture_output=True, timeout=60)
    return {"WIP_MPY_PATH": str(out)}


def provide(request):
    server = start_ftp_server()
    request.addfinalizer(server.stop)
    data = random_bytes(FILE_SIZE, SEED)
    (server.root / FILE_NAME).write_bytes(data)
    return {
        "WIP_FTP_HOST": server.host,
        "WIP_FTP_PORT": str(server.port),
        "WIP_FTP_USER": server.user,
        "WIP_FTP_PASS": server.password,
        "WIP_FTP_FILE": FILE_NAME,
        "WIP_FTP_SIZE": str(FILE_SIZE),
        "WIP_FTP_SHA256": hashlib.sha256(data).hexdigest(),
        **compiled_driver(request),
    }


if str(ROOT) not in sys.path:  # `tools.build_mpy` when loaded by the mpy runner
    sys.path.insert(0, str(ROOT))
