"""C16 (guide §9.13): full socket load plus one service session, replayed as written.

The guide's low ports (UDP 55..62, servers 83..86, the TCP peer on 80, FTP 21, POP3 110)
are kept: the simulator's port offset maps them onto real high ports, where the harness
runs its listener, pyftpdlib and dovecot.
"""

import json
import random
import socket

import pytest
from atclient import ATClient

from host_tests.servers import start_ftp_server, start_pop3_server


def port_free(port):
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            tcp.bind(("127.0.0.1", port))
            udp.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def c16_servers():
    """(offset, ftp, pop3) with FTP on 21+offset and POP3 on 110+offset, all C16 ports free."""
    needed = [21, 80, 110, *range(55, 63), *range(83, 87)]
    for _attempt in range(20):
        offset = random.randrange(20000, 60000 - 200)
        if all(port_free(port + offset) for port in needed):
            break
    else:
        pytest.fail("no free port range for C16")
    ftp = start_ftp_server("user name", "password", port=21 + offset)
    try:
        pop3 = start_pop3_server({"user name": "mail id"}, port=110 + offset)
    except BaseException:
        ftp.stop()
        raise
    yield offset, ftp, pop3
    pop3.stop()
    ftp.stop()


def test_c16_full_load_plus_one_session(sim_factory, c16_servers):
    offset, _ftp, _pop3 = c16_servers
    sim = sim_factory(port_offset=offset)
    at = ATClient.tcp(sim.port, timeout=10.0)
    peers = []
    harness = socket.create_server(("127.0.0.1", 80 + offset))
    try:
        at.drain(0.05)
        for command in ("ATE0", "AT+CMEE=1", "AT+WIPCFG=1", "AT+WIPBR=1,6",
                        'AT+WIPBR=2,6,11,"APN name"', 'AT+WIPBR=2,6,0,"user name"',
                        'AT+WIPBR=2,6,1,"passwd"', "AT+WIPBR=4,6,0"):
            at.ok(command)
        at.urcs.clear()
        for n in range(1, 9):
            assert at.cmd(f'AT+WIPCREATE=1,{n},{54 + n},"127.0.0.1",{74 + n}') == ([], "OK")
            assert at.expect_urc("+WIPREADY:") == f"+WIPREADY: 1,{n}"
        assert at.cmd('AT+WIPCREATE=1,9,63,"127.0.0.1",83') == ([], "+CME ERROR: 830")
        for n, port in enumerate(range(83, 87), start=1):
            assert at.cmd(f"AT+WIPCREATE=3,{n},{port},{n},{n}") == ([], "OK")
        assert at.cmd("AT+WIPCREATE=3,5,84,5,5") == ([], "+CME ERROR: 830")  # D5
        assert at.cmd('AT+WIPCREATE=2,1,"127.0.0.1",83') == ([], "+CME ERROR: 845")  # D38
        for port in range(83, 87):
            peers.append(socket.create_connection(("127.0.0.1", port + offset), timeout=5))
        accepted = sorted(at.expect_urc("+WIPACCEPT:") for _ in range(4))  # D78
        assert accepted == [f"+WIPACCEPT: {n},{n}" for n in range(1, 5)]
        for n in range(5, 9):
            assert at.cmd(f'AT+WIPCREATE=2,{n},"127.0.0.1",80') == ([], "OK")
            assert at.expect_urc("+WIPREADY:") == f"+WIPREADY: 2,{n}"
        assert at.cmd('AT+WIPCREATE=2,8,"127.0.0.1",80') == ([], "+CME ERROR: 840")
        assert at.cmd('AT+WIPCREATE=2,9,"127.0.0.1",80') == ([], "+CME ERROR: 830")
        assert json.loads(sim.control("status"))["sockets"] == 20
        # D33: sessions are not counted against SOCKET_MAX
        assert at.cmd('AT+WIPCREATE=4,1,"127.0.0.1",,"user name","password"') == ([], "OK")
        assert at.cmd('AT+WIPCREATE=7,1,"127.0.0.1",,"user name","mail id"') == \
            ([], "+CME ERROR: 840")  # D34: one session at a time
        assert at.cmd("AT+WIPCLOSE=4,1") == ([], "OK")
        assert at.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 4,1"
        assert at.cmd('AT+WIPCREATE=7,1,"127.0.0.1",,"user name","mail id"') == ([], "OK")
        assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 7,1"
        assert at.ok("AT+WIPOPT=7,1,1,71") == ["+WIPOPT: 7,71,0"]
        assert not [u for u in at.urcs if u.startswith(("+WIPREADY", "+WIPPEERCLOSE"))]
        at.ok("AT+WIPCFG=0")
    finally:
        at.close()
        harness.close()
        for peer in peers:
            peer.close()
