# Service behaviour on the device that is not about streaming memory (the 64 KB streaming
# proofs are test_services_ftp.py and test_services_http.py): one session at a time (D34),
# bad names refused before anything is sent, a 404 is a status, a POST body arrives.
# needs: sim, ftp, http
# heapsize: 128K
import os
import sys

from mpytest import eq, raises, run

sys.path.insert(0, os.getenv("WIP_MPY_PATH"))

import wip  # noqa: E402
from simlink import shared_modem  # noqa: E402


def env(name):
    return os.getenv(name)


def test_ftp_second_session_refused_on_device():
    m = shared_modem()
    with m.ftp(env("WIP_FTP_HOST"), env("WIP_FTP_USER"), env("WIP_FTP_PASS"),
               port=int(env("WIP_FTP_PORT"))) as ftp:
        e = raises(wip.WipError, m.ftp, "127.0.0.1", "u", "p")
        eq(e.code, 840)
        raises(ValueError, ftp.open, 'bad"name')
        f = ftp.open(env("WIP_FTP_FILE"))
        eq(len(f.read(100)), 100)
        f.close()


def test_http_404_and_post():
    m = shared_modem()
    r = m.http_get(env("WIP_HTTP_BASE") + "/missing")
    eq(r.status, 404)
    r.close()
    r = m.http_request("POST", env("WIP_HTTP_BASE") + "/echo", data=b"\x03\x10 body")
    eq(r.status, 200)


run(globals())
