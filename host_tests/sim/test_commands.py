"""Every command form and the error codes each command produces (spec §2, §5)."""

import socket

import pytest
from harness import listener, open_client, prelude


def replies(client, script):
    """Run (line, expected final) pairs; return the actual finals for one comparison."""
    return [(line, client.cmd(line)[1]) for line, _ in script]


def check(client, script):
    assert replies(client, script) == script


# ---------------------------------------------------------------- basic commands
def test_basic_commands(at):
    check(at, [
        ("AT", "OK"), ("at", "OK"), ("ATV1", "OK"), ("ATQ0", "OK"), ("ATV0", "ERROR"),
        ("ATQ1", "ERROR"), ("ATO", "+CME ERROR: 3"), ("ATE1", "OK"), ("ATE0", "OK"),
        ("AT+CMEE=2", "OK"), ("AT+CMEE=1", "OK"), ("AT+CMEE=3", "+CME ERROR: 3"),
        ("AT+CMEE=x", "ERROR"), ("AT+CMEE", "ERROR"), ("AT&F", "ERROR"), ("ATZ", "ERROR"),
    ])
    assert at.cmd("AT+CMEE?") == (["+CMEE: 1"], "OK")
    assert at.cmd("AT+CMEE=?") == (["+CMEE: (0-2)"], "OK")
    assert at.cmd("AT+CMEE=0") == ([], "OK")
    assert at.cmd("ATO") == ([], "ERROR")
    assert at.cmd("AT+CMEE=7") == ([], "ERROR")


def test_cmee_2_behaves_like_1(at):
    assert at.cmd("AT+CMEE=2") == ([], "OK")
    assert at.cmd("AT+WIPCFG=2,0,1") == ([], "+CME ERROR: 803")


def test_every_test_form_answers_ok(at):
    for name in ("WIPCFG", "WIPBR", "WIPCREATE", "WIPCLOSE", "WIPOPT", "WIPDATA", "WIPFILE",
                 "WIPPING"):
        assert at.cmd(f"AT+{name}=?") == ([], "OK"), name


def test_read_forms_that_need_nothing(at):
    for name in ("WIPCREATE", "WIPCLOSE", "WIPOPT", "WIPDATA", "WIPFILE", "WIPPING"):
        assert at.cmd(f"AT+{name}?") == ([], "OK"), name  # D4
    assert at.cmd("AT+WIPCFG?") == ([], "+CME ERROR: 803")  # D14
    assert at.cmd("AT+WIPBR?") == ([], "+CME ERROR: 803")


def test_cfun_reboots(at):
    at.ok("AT+WIPCFG=1")
    info, final = at.cmd("AT+CFUN=1")
    assert final == "OK"
    assert at.expect_urc("+WIND: 3") == "+WIND: 3"
    assert at.expect_urc("+WIND: 4") == "+WIND: 4"
    # power-up state: echo on, CMEE=0, stack stopped
    at.send_raw(b"AT+WIPCFG=2,0,1\r")
    assert at.read_reply("AT+WIPCFG=2,0,1") == ([], "ERROR")
    assert at.cmd("AT+CFUN=0") == ([], "ERROR")


def test_names_are_case_insensitive_and_spaces_are_ignored(at):
    assert at.cmd("at+wipcfg=1") == ([], "OK")
    assert at.cmd("AT+WIPCFG = 2, 0, 10") == ([], "OK")
    assert "+WIPCFG: 0,10" in at.cmd("AT+WipCfg?")[0]
    assert at.cmd('AT+WIPCFG=2,"0","11"') == ([], "OK")  # quoted numbers (§1.5)
    assert "+WIPCFG: 0,11" in at.cmd("AT+WIPCFG?")[0]


# ---------------------------------------------------------------- +WIPCFG
def test_wipcfg_forms_and_errors(at):
    check(at, [
        ("AT+WIPCFG=0", "OK"),  # D14: idempotent
        ("AT+WIPCFG=2,0,10", "+CME ERROR: 803"),
        ("AT+WIPCFG=4,0", "OK"),  # nothing stored: still OK
        ("AT+WIPCFG=1", "OK"), ("AT+WIPCFG=1", "+CME ERROR: 844"),
        ("AT+WIPCFG=5", "+CME ERROR: 800"), ("AT+WIPCFG=2,13,1", "+CME ERROR: 800"),
        ("AT+WIPCFG=2,8,0", "+CME ERROR: 800"), ("AT+WIPCFG=4,2", "+CME ERROR: 800"),
        ("AT+WIPCFG=2,4,535", "+CME ERROR: 801"), ("AT+WIPCFG=2,4,1461", "+CME ERROR: 801"),
        ("AT+WIPCFG=2,6,24", "+CME ERROR: 801"), ("AT+WIPCFG=2,2,0", "+CME ERROR: 801"),
        ("AT+WIPCFG=2,12,101", "+CME ERROR: 801"), ("AT+WIPCFG=2,0,\"x\"", "+CME ERROR: 801"),
        ("AT+WIPCFG=2,0", "ERROR"), ("AT+WIPCFG=2,0,1,2", "ERROR"), ("AT+WIPCFG=1,1", "ERROR"),
        ("AT+WIPCFG=x", "ERROR"), ("AT+WIPCFG=", "ERROR"), ("AT+WIPCFG", "ERROR"),
        ("AT+WIPCFG=2,x,1", "ERROR"), ("AT+WIPCFG=4", "ERROR"),
    ])
    assert at.cmd("AT+WIPCFG=3") == (["WIP soft v501 on Open AT OS v412",
                                      "Sep 11 2008 12:00:00 WIPLib:v5a01 WIPSoft:v5a01"], "OK")


def test_wipcfg_ranges_accept_their_bounds(at):
    at.ok("AT+WIPCFG=1")
    bounds = {0: (0, 255), 1: (0, 255), 2: (1, 65535), 3: (0, 65535), 4: (536, 1460),
              5: (0, 3), 6: (1, 23), 7: (4, 42), 9: (0, 2730), 10: (1, 511), 11: (1, 292),
              12: (0, 100)}
    for opt, (low, high) in bounds.items():
        assert at.cmd(f"AT+WIPCFG=2,{opt},{low}") == ([], "OK")
        assert at.cmd(f"AT+WIPCFG=2,{opt},{high}") == ([], "OK")
        assert at.cmd(f"AT+WIPCFG=2,{opt},{high + 1}") == ([], "+CME ERROR: 801")
    info, _ = at.cmd("AT+WIPCFG?")
    assert info[0] == "+WIPCFG: 0,255" and info[8] == "+WIPCFG: 8,0"


def test_wipcfg_storage_survives_restart_and_reboot(sim):
    at = open_client(sim)
    prelude(at)
    at.ok("AT+WIPCFG=2,0,33")
    at.ok("AT+WIPCFG=2,12,5")
    at.ok("AT+WIPCFG=4,1")
    at.ok("AT+WIPCFG=2,0,99")
    at.ok("AT+WIPCFG=0")
    at.ok("AT+WIPCFG=1")
    info, _ = at.cmd("AT+WIPCFG?")
    assert "+WIPCFG: 0,33" in info and "+WIPCFG: 12,5" in info  # D13: 12 included
    assert sim.control("reboot") == "OK"
    at.expect_urc("+WIND: 4")
    at.ok("ATE0")
    at.ok("AT+CMEE=1")
    at.ok("AT+WIPCFG=1")
    assert "+WIPCFG: 0,33" in at.cmd("AT+WIPCFG?")[0]
    at.ok("AT+WIPCFG=4,0")
    at.ok("AT+WIPCFG=0")
    at.ok("AT+WIPCFG=1")
    assert "+WIPCFG: 0,64" in at.cmd("AT+WIPCFG?")[0]


def test_wipcfg_flash_fail(at, sim):
    at.ok("AT+WIPCFG=1")
    assert sim.control("flash-fail") == "OK"
    assert at.cmd("AT+WIPCFG=4,1") == ([], "+CME ERROR: 820")
    assert at.cmd("AT+WIPCFG=4,1") == ([], "OK")
    at.ok("AT+WIPCFG=4,0")


def test_wipcfg_stop_releases_everything_silently(gprs, sim):
    srv = listener(sim, 80)
    gprs.ok('AT+WIPCREATE=2,1,"127.0.0.1",80')
    gprs.expect_urc("+WIPREADY:")
    peer, _ = srv.accept()
    gprs.ok("AT+WIPCFG=0")
    peer.settimeout(5)
    assert peer.recv(10) == b""
    assert gprs.no_urc(0.2) == []
    gprs.ok("AT+WIPCFG=1")
    assert gprs.cmd("AT+WIPBR?") == ([], "OK")  # D16: bearers closed


# ---------------------------------------------------------------- +WIPBR
def test_wipbr_state_machine_and_errors(at):
    at.ok("AT+WIPCFG=1")
    check(at, [
        ("AT+WIPBR=2,6,11,\"x\"", "+CME ERROR: 803"), ("AT+WIPBR=3,6,11", "+CME ERROR: 803"),
        ("AT+WIPBR=5,6", "+CME ERROR: 803"), ("AT+WIPBR=0,6", "+CME ERROR: 803"),
        ("AT+WIPBR=4,6,0", "+CME ERROR: 803"), ("AT+WIPBR=6,6,1", "+CME ERROR: 803"),
        ("AT+WIPBR=6,6,0", "OK"),
        ("AT+WIPBR=1,3", "+CME ERROR: 805"), ("AT+WIPBR=1,4", "+CME ERROR: 805"),
        ("AT+WIPBR=1,7", "+CME ERROR: 801"), ("AT+WIPBR=1,25", "+CME ERROR: 801"),
        ("AT+WIPBR=7,6", "+CME ERROR: 800"),
        ("AT+WIPBR=1,6", "OK"), ("AT+WIPBR=1,6", "+CME ERROR: 804"),
        ("AT+WIPBR=5,6", "OK"),  # stop on OPEN: no-op
        ("AT+WIPBR=4,6,1", "+CME ERROR: 806"), ("AT+WIPBR=4,6,2", "+CME ERROR: 800"),
        ("AT+WIPBR=4,6,0,\"a\",\"b\"", "+CME ERROR: 800"),
        ("AT+WIPBR=1,5", "OK"), ("AT+WIPBR=4,5,1,\"a\",\"b\"", "+CME ERROR: 805"),
        ("AT+WIPBR=1,1", "OK"), ("AT+WIPBR=4,1,0", "+CME ERROR: 805"),
        ("AT+WIPBR=1,11", "OK"), ("AT+WIPBR=4,11,1,\"a\",\"b\"", "+CME ERROR: 805"),
        ("AT+WIPBR=4,6,0", "OK"), ("AT+WIPBR=4,6,0", "+CME ERROR: 803"),
        ("AT+WIPBR=4,5,0", "+CME ERROR: 803"),  # another bearer is started
        ("AT+WIPBR=1", "ERROR"), ("AT+WIPBR=2,6,11", "ERROR"), ("AT+WIPBR=3,6", "ERROR"),
        ("AT+WIPBR=0,6,1", "ERROR"), ("AT+WIPBR=x,6", "ERROR"),
    ])
    assert at.cmd("AT+WIPBR?") == (["1,0", "5,0", "6,1", "11,0"], "OK")  # D18
    at.ok("AT+WIPBR=0,6")  # closing a started bearer stops it first
    assert at.cmd("AT+WIPBR?") == (["1,0", "5,0", "11,0"], "OK")
    at.ok("AT+WIPBR=4,5,0")
    assert at.cmd("AT+WIPBR?") == (["1,0", "5,1", "11,0"], "OK")


def test_wipbr_options(at):
    at.ok("AT+WIPCFG=1")
    at.ok("AT+WIPBR=1,6")
    defaults = {0: '""', 1: '""', 2: '""', 5: "0", 6: "0", 7: "1", 8: "1", 9: "1", 10: "1",
                11: '""', 12: "1", 13: "0", 14: "0", 15: '"0.0.0.0"', 16: '"0.0.0.0"',
                17: '"0.0.0.0"', 18: '"0.0.0.0"', 19: "1", 20: "1"}
    for opt, value in defaults.items():
        assert at.cmd(f"AT+WIPBR=3,6,{opt}") == ([f"+WIPBR: 6,{opt},{value}"], "OK")
    check(at, [
        ("AT+WIPBR=3,6,3", "+CME ERROR: 800"), ("AT+WIPBR=3,6,4", "+CME ERROR: 800"),
        ("AT+WIPBR=3,6,21", "+CME ERROR: 800"), ("AT+WIPBR=2,6,4,1", "+CME ERROR: 800"),
        ("AT+WIPBR=2,6,12,5", "+CME ERROR: 801"), ("AT+WIPBR=2,6,12,0", "+CME ERROR: 801"),
        ("AT+WIPBR=2,6,5,65536", "+CME ERROR: 801"), ("AT+WIPBR=2,6,7,\"x\"", "+CME ERROR: 801"),
        ("AT+WIPBR=2,6,0,\"" + "u" * 65 + "\"", "+CME ERROR: 801"),
        ("AT+WIPBR=2,6,0,\"" + "u" * 64 + "\"", "OK"),
        ("AT+WIPBR=2,6,2,\"" + "1" * 33 + "\"", "+CME ERROR: 801"),
        ("AT+WIPBR=2,6,11,\"" + "a" * 97 + "\"", "+CME ERROR: 801"),
        ("AT+WIPBR=2,6,11,\"" + "a" * 96 + "\"", "OK"),
        ("AT+WIPBR=2,6,15,\"1.2.3\"", "+CME ERROR: 801"),
        ("AT+WIPBR=2,6,16,\"127.0.0.9\"", "OK"), ("AT+WIPBR=2,6,1,\"secret\"", "OK"),
    ])
    assert at.cmd("AT+WIPBR=3,6,1") == (['+WIPBR: 6,1,"secret"'], "OK")  # D21: clear text
    assert at.cmd("AT+WIPBR=3,6,16") == (['+WIPBR: 6,16,"0.0.0.0"'], "OK")  # not started
    at.ok("AT+WIPBR=4,6,0")
    assert at.cmd("AT+WIPBR=3,6,15") == (['+WIPBR: 6,15,"127.0.0.1"'], "OK")
    assert at.cmd("AT+WIPBR=3,6,16") == (['+WIPBR: 6,16,"127.0.0.9"'], "OK")
    assert at.cmd("AT+WIPBR=3,6,17") == (['+WIPBR: 6,17,"127.0.0.1"'], "OK")
    assert at.cmd("AT+WIPBR=3,6,18") == (['+WIPBR: 6,18,"0.0.0.0"'], "OK")


def test_wipbr_store_and_reopen(at, sim):
    at.ok("AT+WIPCFG=1")
    at.ok("AT+WIPBR=1,6")
    at.ok('AT+WIPBR=2,6,11,"stored apn"')
    at.ok("AT+WIPBR=6,6,1")
    at.ok('AT+WIPBR=2,6,11,"other"')
    at.ok("AT+WIPBR=0,6")
    at.ok("AT+WIPBR=1,6")
    assert at.cmd("AT+WIPBR=3,6,11") == (['+WIPBR: 6,11,"stored apn"'], "OK")
    assert at.cmd("AT+WIPBR=6,6,2") == ([], "+CME ERROR: 800")
    assert sim.control("flash-fail") == "OK"
    assert at.cmd("AT+WIPBR=6,6,1") == ([], "+CME ERROR: 820")
    at.ok("AT+WIPBR=6,6,0")
    at.ok("AT+WIPBR=0,6")
    at.ok("AT+WIPBR=1,6")
    assert at.cmd("AT+WIPBR=3,6,11") == (['+WIPBR: 6,11,""'], "OK")


@pytest.mark.parametrize("code", [807, 812, 814, 817])
def test_wipbr_start_failure_fault(at, sim, code):
    at.ok("AT+WIPCFG=1")
    at.ok("AT+WIPBR=1,6")
    assert sim.control(f"bearer-fail {code}") == "OK"
    assert at.cmd("AT+WIPBR=4,6,0") == ([], f"+CME ERROR: {code}")
    assert at.cmd("AT+WIPBR?") == (["6,0"], "OK")
    assert at.cmd("AT+WIPBR=4,6,0") == ([], "OK")


def test_bearer_fault_rejects_bad_codes(sim):
    assert sim.control("bearer-fail 806").startswith("ERR")
    assert sim.control("bearer-fail x").startswith("ERR")


def test_wipbr_stop_tears_down(gprs, sim):
    srv = listener(sim, 80)
    gprs.ok('AT+WIPCREATE=2,1,"127.0.0.1",80')
    gprs.expect_urc("+WIPREADY:")
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    gprs.ok("AT+WIPCREATE=3,1,81,2,3")
    peer, _ = srv.accept()
    gprs.send_raw(b"AT+WIPBR=5,6\r")
    assert gprs.read_raw_until(b"2,1\r\n") == b"\r\nOK\r\n\r\n+WIPPEERCLOSE: 2,1\r\n"  # D24, D7
    assert gprs.no_urc(0.2) == []
    peer.settimeout(5)
    with pytest.raises(ConnectionResetError):
        assert peer.recv(10) == b""
        raise ConnectionResetError
    assert gprs.cmd("AT+WIPBR?") == (["6,0"], "OK")
    gprs.ok("AT+WIPBR=4,6,0")
    gprs.ok("AT+WIPCREATE=1,1,500")  # the index and port are free again


# ---------------------------------------------------------------- +WIPCREATE
def test_wipcreate_errors(gprs, sim):
    srv = listener(sim, 80)
    check(gprs, [
        ("AT+WIPCREATE=8,1", "+CME ERROR: 837"), ("AT+WIPCREATE=0,1,80", "+CME ERROR: 837"),
        ("AT+WIPCREATE=1,0,80", "+CME ERROR: 830"), ("AT+WIPCREATE=1,9,80", "+CME ERROR: 830"),
        ("AT+WIPCREATE=2,9,\"127.0.0.1\",80", "+CME ERROR: 830"),
        ("AT+WIPCREATE=3,5,80,1,1", "+CME ERROR: 830"),
        ("AT+WIPCREATE=3,1,80,3,2", "+CME ERROR: 830"),
        ("AT+WIPCREATE=3,1,80,0,2", "+CME ERROR: 830"),
        ("AT+WIPCREATE=3,1,80,1,9", "+CME ERROR: 830"),
        ("AT+WIPCREATE=4,9,\"127.0.0.1\",21,\"u\",\"p\"", "+CME ERROR: 830"),
        ("AT+WIPCREATE=1,1,70000", "+CME ERROR: 832"),
        ("AT+WIPCREATE=1,1,,\"127.0.0.1\",0", "+CME ERROR: 832"),
        ("AT+WIPCREATE=1,1,\"x\",\"127.0.0.1\",80", "+CME ERROR: 832"),
        ("AT+WIPCREATE=2,1,\"127.0.0.1\",0", "+CME ERROR: 832"),
        ("AT+WIPCREATE=2,1,\"127.0.0.1\",\"http\"", "+CME ERROR: 832"),
        ("AT+WIPCREATE=3,1,0,1,1", "+CME ERROR: 832"),
        ("AT+WIPCREATE=1,1,\"127.0.0.1\"", "+CME ERROR: 800"),
        ("AT+WIPCREATE=1,1,80,\"127.0.0.1\"", "+CME ERROR: 800"),
        ("AT+WIPCREATE=2,1,\"127.0.0.1\"", "+CME ERROR: 800"),
        ("AT+WIPCREATE=1,1,\"www.example.com\",80", "+CME ERROR: 842"),
        ("AT+WIPCREATE=2,1,\"10.0.0.1\",80", "+CME ERROR: 842"),
        ("AT+WIPCREATE=2,1,\"127.0.0.1\",81", "+CME ERROR: 842"),  # refused
        ("AT+WIPCREATE=1", "ERROR"), ("AT+WIPCREATE=1,1,2,\"a\",4,5", "ERROR"),
        ("AT+WIPCREATE=2,1", "ERROR"), ("AT+WIPCREATE=3,1,80,1", "ERROR"),
        ("AT+WIPCREATE=3,1,80,x,2", "ERROR"), ("AT+WIPCREATE=x,1", "ERROR"),
    ])
    # 833: the local port is busy
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", sim.real_port(90)))
    assert gprs.cmd("AT+WIPCREATE=1,1,90") == ([], "+CME ERROR: 833")
    assert gprs.cmd("AT+WIPCREATE=3,1,80,1,1") == ([], "+CME ERROR: 833")  # srv holds 80
    busy.close()
    srv.close()


def test_wipcreate_guide_hosts_resolve_to_loopback(sim_factory):
    sim = sim_factory("--host", "My Host=127.0.0.1")
    at = open_client(sim)
    prelude(at)
    srv = listener(sim, 80)
    for index, name in enumerate(["www.wavecom.com", "IP ADDR", "ftp  server", "192.168.0.1",
                                  "my host", "LOCALHOST", "127.0.0.1"], start=1):
        if index > 8:
            break
        assert at.cmd(f'AT+WIPCREATE=1,{index},"{name}",80') == ([], "OK"), name
        at.expect_urc("+WIPREADY:")
    srv.close()


def test_wipcreate_conflicts(gprs, sim):
    srv = listener(sim, 88)
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    assert gprs.cmd("AT+WIPCREATE=1,1,501") == ([], "+CME ERROR: 840")
    gprs.ok("AT+WIPCREATE=3,1,502,3,4")
    assert gprs.cmd("AT+WIPCREATE=3,1,503,5,6") == ([], "+CME ERROR: 840")
    assert gprs.cmd("AT+WIPCREATE=3,2,503,4,6") == ([], "+CME ERROR: 845")
    assert gprs.cmd("AT+WIPCREATE=3,1,503,4,6") == ([], "+CME ERROR: 845")  # D32
    assert gprs.cmd('AT+WIPCREATE=2,3,"127.0.0.1",88') == ([], "+CME ERROR: 845")
    gprs.ok('AT+WIPCREATE=2,5,"127.0.0.1",88')
    gprs.expect_urc("+WIPREADY:")
    assert gprs.cmd('AT+WIPCREATE=2,5,"127.0.0.1",88') == ([], "+CME ERROR: 840")
    assert gprs.cmd("AT+WIPCREATE=3,2,503,5,5") == ([], "+CME ERROR: 845")
    srv.close()


def test_wipcreate_udp_forms(gprs, sim):
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    pport = peer.getsockname()[1]
    gprs.ok("AT+WIPCREATE=1,1")
    gprs.ok("AT+WIPCREATE=1,2,")
    gprs.ok("AT+WIPCREATE=1,3,0")
    gprs.ok(f'AT+WIPCREATE=1,4,"127.0.0.1",{pport}')
    gprs.ok(f'AT+WIPCREATE=1,5,,"127.0.0.1",{pport}')
    gprs.ok(f'AT+WIPCREATE=1,6,506,"127.0.0.1",{pport}')
    assert sorted(gprs.expect_urc("+WIPREADY:") for _ in range(6)) == [
        f"+WIPREADY: 1,{i}" for i in range(1, 7)]
    assert gprs.cmd("AT+WIPOPT=1,6,1,0") == (["+WIPOPT: 1,0,506"], "OK")
    assert gprs.cmd("AT+WIPOPT=1,6,1,3") == (["+WIPOPT: 1,3,1"], "OK")
    assert gprs.cmd("AT+WIPOPT=1,1,1,3") == (["+WIPOPT: 1,3,0"], "OK")
    assert gprs.cmd("AT+WIPOPT=1,6,1,1") == ([f"+WIPOPT: 1,1,{pport}"], "OK")
    assert gprs.cmd("AT+WIPOPT=1,6,1,2") == (['+WIPOPT: 1,2,"127.0.0.1"'], "OK")
    assert gprs.cmd("AT+WIPOPT=1,1,1,1") == (["+WIPOPT: 1,1,0"], "OK")
    assert gprs.cmd("AT+WIPOPT=1,1,1,2") == (['+WIPOPT: 1,2,"0.0.0.0"'], "OK")


def test_wipcreate_needs_a_started_bearer(at):
    at.ok("AT+WIPCFG=1")
    at.ok("AT+WIPBR=1,6")
    assert at.cmd("AT+WIPCREATE=1,1,80") == ([], "+CME ERROR: 803")
    assert at.cmd("AT+WIPCREATE=9,1,80") == ([], "+CME ERROR: 803")  # 803 before 837
    assert at.cmd("AT+WIPCREATE=1,1,x,y,z,w") == ([], "ERROR")  # syntax first


def test_sessions_internet_off_gives_839(gprs, sim):
    assert sim.control("internet off") == "OK"
    assert gprs.cmd('AT+WIPCREATE=5,1,"127.0.0.1",,,') == ([], "+CME ERROR: 839")
    assert gprs.cmd('AT+WIPCREATE=6,1,"",25') == ([], "+CME ERROR: 800")
    assert sim.control("internet maybe").startswith("ERR")
    assert sim.control("internet on") == "OK"


# ---------------------------------------------------------------- +WIPCLOSE
def test_wipclose_errors(at):
    check(at, [
        ("AT+WIPCLOSE=1,1", "+CME ERROR: 803"), ("AT+WIPCFG=1", "OK"),
        ("AT+WIPCLOSE=1,1", "OK"), ("AT+WIPCLOSE=3,4", "OK"),
        ("AT+WIPCLOSE=3,5", "+CME ERROR: 830"),
        ("AT+WIPCLOSE=1,0", "+CME ERROR: 830"), ("AT+WIPCLOSE=0,1", "+CME ERROR: 837"),
        ("AT+WIPCLOSE=4,1", "+CME ERROR: 831"), ("AT+WIPCLOSE=7,9", "+CME ERROR: 830"),
        ("AT+WIPCLOSE=1", "ERROR"), ("AT+WIPCLOSE=1,1,1", "ERROR"), ("AT+WIPCLOSE=a,1", "ERROR"),
    ])


# ---------------------------------------------------------------- +WIPOPT
def test_wipopt_socket_options(gprs, sim):
    srv = listener(sim, 80)
    gprs.ok('AT+WIPCREATE=2,1,"127.0.0.1",80')
    gprs.expect_urc("+WIPREADY:")
    peer, _ = srv.accept()
    peer_port = peer.getsockname()[1]
    gprs.ok("AT+WIPCREATE=3,1,81,5,5")
    assert gprs.cmd("AT+WIPOPT=2,1,1,1") == (["+WIPOPT: 2,1,80"], "OK")
    assert gprs.cmd("AT+WIPOPT=2,1,1,2") == (['+WIPOPT: 2,2,"127.0.0.1"'], "OK")
    assert gprs.cmd("AT+WIPOPT=2,1,1,0") == ([f"+WIPOPT: 2,0,{peer.getpeername()[1]}"], "OK")
    assert peer_port == sim.real_port(80)
    assert gprs.cmd("AT+WIPOPT=3,1,1,0") == (["+WIPOPT: 3,0,81"], "OK")
    for opt, default in ((4, 1024), (5, 1), (6, 0), (7, 0), (8, 64), (9, 0)):
        assert gprs.cmd(f"AT+WIPOPT=2,1,1,{opt}") == ([f"+WIPOPT: 2,{opt},{default}"], "OK")
    check(gprs, [
        ("AT+WIPOPT=2,1,2,8,20", "OK"), ("AT+WIPOPT=3,1,2,9,10", "OK"),
        ("AT+WIPOPT=2,1,2,4,5839", "OK"), ("AT+WIPOPT=2,1,2,4,5840", "+CME ERROR: 801"),
        ("AT+WIPOPT=2,1,2,5,0", "+CME ERROR: 801"), ("AT+WIPOPT=2,1,2,7,2", "+CME ERROR: 801"),
        ("AT+WIPOPT=2,1,2,8,256", "+CME ERROR: 801"),
        ("AT+WIPOPT=2,1,2,8,\"x\"", "+CME ERROR: 801"),
        ("AT+WIPOPT=2,1,2,7,1", "OK"), ("AT+WIPOPT=2,1,2,6,1", "+CME ERROR: 835"),
        ("AT+WIPOPT=2,1,1,3", "+CME ERROR: 835"), ("AT+WIPOPT=3,1,1,6", "+CME ERROR: 835"),
        ("AT+WIPOPT=2,1,1,10", "+CME ERROR: 800"), ("AT+WIPOPT=2,1,3,1", "+CME ERROR: 800"),
        ("AT+WIPOPT=2,2,1,1", "+CME ERROR: 830"), ("AT+WIPOPT=9,1,1,1", "+CME ERROR: 837"),
        ("AT+WIPOPT=4,1,1,40", "+CME ERROR: 830"), ("AT+WIPOPT=2,1,1", "ERROR"),
        ("AT+WIPOPT=2,1,1,1,1", "ERROR"), ("AT+WIPOPT=2,1,2,8", "ERROR"),
    ])
    assert gprs.cmd("AT+WIPOPT=2,1,1,8") == (["+WIPOPT: 2,8,20"], "OK")
    assert gprs.cmd("AT+WIPOPT=3,1,1,9") == (["+WIPOPT: 3,9,10"], "OK")
    assert gprs.cmd("AT+WIPOPT=2,1,1,7") == (["+WIPOPT: 2,7,1"], "OK")
    peer.sendall(b"12345")
    gprs.expect_urc("+WIPDATA:")
    assert gprs.cmd("AT+WIPOPT=2,1,1,6") == (["+WIPOPT: 2,6,5"], "OK")
    # a spawned socket copies the server's options (D45)
    conn = socket.create_connection(("127.0.0.1", sim.real_port(81)))
    assert gprs.expect_urc("+WIPACCEPT:") == "+WIPACCEPT: 1,5"
    assert gprs.cmd("AT+WIPOPT=2,5,1,9") == (["+WIPOPT: 2,9,10"], "OK")
    conn.close()
    srv.close()


def test_wipopt_udp_nread_is_next_datagram_size(gprs, sim):
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x" * 7, ("127.0.0.1", sim.real_port(500)))
    s.sendto(b"y" * 3, ("127.0.0.1", sim.real_port(500)))
    gprs.expect_urc("+WIPDATA:")
    assert gprs.cmd("AT+WIPOPT=1,1,1,6") == (["+WIPOPT: 1,6,7"], "OK")
    assert gprs.cmd("AT+WIPOPT=1,1,1,4") == ([], "+CME ERROR: 835")
    assert gprs.cmd("AT+WIPOPT=1,1,2,8,1") == ([], "OK")


def test_wipopt_needs_the_stack(at):
    assert at.cmd("AT+WIPOPT=2,1,1,1") == ([], "+CME ERROR: 803")


# ---------------------------------------------------------------- +WIPDATA
def test_wipdata_errors(gprs, sim):
    check(gprs, [
        ("AT+WIPDATA=2,1,3", "+CME ERROR: 800"), ("AT+WIPDATA=0,1,1", "+CME ERROR: 837"),
        ("AT+WIPDATA=2,0,1", "+CME ERROR: 830"), ("AT+WIPDATA=1,1,0", "+CME ERROR: 831"),
        ("AT+WIPDATA=2,1", "ERROR"), ("AT+WIPDATA=2,1,1,1", "ERROR"),
        ("AT+WIPDATA=2,x,1", "ERROR"),
    ])
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    assert gprs.cmd("AT+WIPDATA=1,1,0") == ([], "OK")  # D60
    gprs.ok("AT+WIPCFG=0")
    assert gprs.cmd("AT+WIPDATA=1,1,1") == ([], "+CME ERROR: 803")


# ---------------------------------------------------------------- +WIPFILE / +WIPPING
def test_wipfile_errors(at):
    assert at.cmd('AT+WIPFILE=4,1,1,"f"') == ([], "+CME ERROR: 803")
    at.ok("AT+WIPCFG=1")
    check(at, [
        ('AT+WIPFILE=3,1,1,"f"', "+CME ERROR: 837"), ('AT+WIPFILE=8,1,1,"f"', "+CME ERROR: 837"),
        ('AT+WIPFILE=4,9,1,"f"', "+CME ERROR: 830"), ('AT+WIPFILE=4,1,1,"f"', "+CME ERROR: 830"),
        ("AT+WIPFILE=4,1", "ERROR"), ('AT+WIPFILE=x,1,1,"f"', "ERROR"),
    ])


def test_wipping_errors(at, sim):
    assert at.cmd('AT+WIPPING="127.0.0.1"') == ([], "+CME ERROR: 803")
    prelude(at)
    check(at, [
        ('AT+WIPPING=""', "+CME ERROR: 800"), ('AT+WIPPING="127.0.0.1",0', "+CME ERROR: 801"),
        ('AT+WIPPING="127.0.0.1",1,0', "+CME ERROR: 801"),
        ('AT+WIPPING="127.0.0.1",1,1,65536', "+CME ERROR: 801"),
        ('AT+WIPPING="127.0.0.1",1,1,1,1501', "+CME ERROR: 801"),
        ('AT+WIPPING="127.0.0.1",1,1,1,1,256', "+CME ERROR: 801"),
        ('AT+WIPPING="www.example.com"', "+CME ERROR: 819"),
        ('AT+WIPPING="8.8.8.8"', "+CME ERROR: 819"),
        ('AT+WIPPING="127.0.0.1",1,1,1,1,1,1', "ERROR"), ('AT+WIPPING="127.0.0.1",x', "ERROR"),
        ("AT+WIPPING", "ERROR"),
    ])


def test_wipping_series_and_loss(gprs, sim):
    assert gprs.cmd('AT+WIPPING="127.0.0.1",3,200,500') == ([], "OK")
    assert gprs.cmd('AT+WIPPING="127.0.0.1"') == ([], "+CME ERROR: 819")  # D70
    results = [gprs.expect_urc("+WIPPING:", 5) for _ in range(3)]
    for index, line in enumerate(results):
        expired, idx, ms = line.split(": ")[1].split(",")
        assert (expired, int(idx)) == ("0", index) and int(ms) >= 0
    assert sim.control("ping-loss 1") == "OK"
    assert gprs.cmd('AT+WIPPING="localhost",2,100,200') == ([], "OK")
    assert gprs.expect_urc("+WIPPING:", 5) == "+WIPPING: 1,0,0"
    assert gprs.expect_urc("+WIPPING:", 5).startswith("+WIPPING: 0,1,")


def test_stack_stop_ends_a_ping_series(gprs):
    assert gprs.cmd('AT+WIPPING="127.0.0.1",5,300') == ([], "OK")
    gprs.expect_urc("+WIPPING:", 5)
    gprs.ok("AT+WIPCFG=0")
    assert gprs.no_urc(0.8) == []
    prelude(gprs)
    assert gprs.cmd('AT+WIPPING="127.0.0.1"') == ([], "OK")  # no 819: the series is over
    assert gprs.expect_urc("+WIPPING:", 5).startswith("+WIPPING: 0,0,")
