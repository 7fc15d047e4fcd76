"""Modem.file_open / FileTransfer (the base of the service helpers) against the simulator's
HTTP client and a loopback HTTP server: download, upload, failure and +++ abort (§2.6, §3.7,
D49, D50, D52).
"""

import hashlib

import pytest
import wip

from host_tests.servers import random_bytes


def session(m):
    m.command("+WIPCREATE=5,1")
    m.wait_ready(5, 1, 5)


def test_download_in_small_reads_then_status_urc(wmodem, http_server):
    urcs = []
    wmodem.on_urc("+WIPFILE:", urcs.append)
    session(wmodem)
    n = 200000
    ft = wmodem.file_open('5,1,1,' + wmodem.quote(http_server.url(f"/bytes/{n}?seed=5")))
    h = hashlib.sha256()
    buf = bytearray(333)
    total = 0
    while True:
        k = ft.readinto(buf, 300)
        if not k:
            break
        assert k <= 300
        h.update(memoryview(buf)[:k])
        total += k
    assert total == n and h.digest() == hashlib.sha256(random_bytes(n, 5)).digest()
    assert ft.readinto(buf) == 0
    assert wmodem.wait_for(lambda: urcs, 5)
    assert urcs == ['+WIPFILE: 5,1,1,200,"OK"']  # D50
    wmodem.command("+WIPCLOSE=5,1")


def test_upload_escapes_every_byte(wmodem, http_server):
    session(wmodem)
    body = bytes(range(256)) * 40 + b"+++" + b"\x10\x03" * 100
    ft = wmodem.file_open('5,1,4,' + wmodem.quote(http_server.url("/up")))
    for i in range(0, len(body), 1000):
        assert ft.write(body[i:i + 1000]) == len(body[i:i + 1000])
    ft.finish()
    assert http_server.stored["/up"] == body


def test_failure_before_connect_is_a_wip_error(wmodem):
    with pytest.raises(wip.WipError) as exc:
        wmodem.file_open('5,3,1,"http://127.0.0.1/x"')  # no such session
    assert exc.value.code == 830
    assert wmodem.command("AT") == []


def test_abort_a_download_then_keep_working(wmodem, http_server):
    session(wmodem)
    ft = wmodem.file_open('5,1,1,' + wmodem.quote(http_server.url("/bytes/300000?seed=2")))
    buf = bytearray(1000)
    assert ft.readinto(buf) > 0
    ft.abort()  # D52: guarded +++, OK, no URC
    assert ft.done
    assert ft.readinto(buf) == 0
    assert len(wmodem.config()) == 13
    ft = wmodem.file_open('5,1,1,' + wmodem.quote(http_server.url("/bytes/10?seed=1")))
    data = bytearray()
    while True:
        k = ft.readinto(buf)
        if not k:
            break
        data += buf[:k]
    assert bytes(data) == random_bytes(10, 1)
