# The unix port's frozen `requests` (micropython-lib), unmodified, over the wip socket shim:
# GET and POST through the simulator to a loopback HTTP server.
# needs: sim, httpd
# timeout: 60
import hashlib
import json
import os
import sys
from binascii import hexlify

import wip
from mpytest import eq, ok, run

modem = wip.Modem(wip.tcp_stream("127.0.0.1", int(os.getenv("WIPSIM_PORT"))), timeout=10,
                  guard_time=float(os.getenv("WIPSIM_GUARD")))
modem.start()
modem.gprs("internet")
sys.modules["socket"] = modem.socket_module()

import requests  # noqa: E402

BASE = "http://127.0.0.1:%s" % os.getenv("HTTP_PORT")


def test_requests_uses_the_shim():
    ok(requests.socket is sys.modules["socket"])


def test_get_text():
    r = requests.get(BASE + "/hello", timeout=10)
    eq(r.status_code, 200)
    eq(r.text, "hello from httpd\n")


def test_get_json():
    r = requests.get(BASE + "/json", timeout=10)
    eq(r.status_code, 200)
    eq(r.json(), {"answer": 42, "items": [1, 2, 3]})


def test_get_binary_body():
    r = requests.get(BASE + "/bytes/3000?seed=3", timeout=10)
    eq(r.status_code, 200)
    eq(len(r.content), 3000)


def test_post_json_arrives_intact():
    doc = {"seq": 7, "temp_c": 21.5, "note": "posted through the module"}
    r = requests.post(BASE + "/readings", json=doc, timeout=10)
    eq(r.status_code, 200)
    sent = json.dumps(doc).encode()
    eq(r.json(), {"length": len(sent),
                  "sha256": hexlify(hashlib.sha256(sent).digest()).decode()})


def test_post_binary_with_codec_control_bytes():
    data = bytes(range(256)) * 8 + b"+++\x10\x03\x10"
    r = requests.post(BASE + "/upload", data=data, timeout=10)
    eq(r.status_code, 200)
    eq(r.json()["sha256"], hexlify(hashlib.sha256(data).digest()).decode())


def test_error_status_is_a_response():
    r = requests.get(BASE + "/status/404", timeout=10)
    eq(r.status_code, 404)
    r.close()


run(globals())
