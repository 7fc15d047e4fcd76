"""The Modem against a scripted fake module (no simulator): races and forms real hardware
produces but the simulator does not (D7, D8, D18, echo on), in random fragmentations.

The fake stream has no fileno(), so these tests also run the Modem's no-poll fallback.
"""

import random

import pytest
import wip
from wip.errors import ETIMEDOUT


class ScriptedModule:
    """Answers each command line the host writes with scripted bytes, in random fragments."""

    def __init__(self, script, seed=0, echo=False):
        self.script = script  # {command line: bytes or callable(line) -> bytes}
        self.rnd = random.Random(seed)
        self.echo = echo
        self.out = bytearray()
        self.written = bytearray()
        self.lines = []
        self._partial = bytearray()

    def write(self, buf):
        data = bytes(buf)
        self.written += data
        for b in data:
            if self.echo:
                self.out.append(b)
            if b == 13:
                line = self._partial.decode()
                self._partial.clear()
                self.lines.append(line)
                reply = self.script.get(line, b"\r\nOK\r\n")
                self.out += reply(line) if callable(reply) else reply
            elif b != 10:
                self._partial.append(b)
        return len(data)

    def readinto(self, buf):
        if not self.out:
            return None
        n = min(len(buf), len(self.out), self.rnd.randint(1, 7))
        buf[:n] = self.out[:n]
        del self.out[:n]
        return n


def make(script, seed=0, **kwargs):
    fake = ScriptedModule(script, seed)
    m = wip.Modem(fake, timeout=1, guard_time=0.01, **kwargs)
    return m, fake


@pytest.mark.parametrize("seed", range(5))
def test_urc_just_before_a_reply_is_dispatched_not_returned(seed):
    m, fake = make({"AT+WIPCFG?": b"\r\n+WIPPEERCLOSE: 2,3\r\n\r\n+WIPCFG: 0,64\r\n\r\nOK\r\n"},
                   seed)
    seen = []
    m.on_urc("+WIPPEERCLOSE:", seen.append)
    assert m.command("+WIPCFG?") == ["+WIPCFG: 0,64"]
    assert seen == ["+WIPPEERCLOSE: 2,3"]
    assert m.peer_closed(2, 3)


@pytest.mark.parametrize("seed", range(5))
def test_bare_bearer_lines_and_prefixed_form_are_info(seed):
    m, _ = make({"AT+WIPBR?": b"\r\n1,0\r\n\r\n+WIPBR: 6,1\r\n\r\nOK\r\n"}, seed)
    assert m.command("AT+WIPBR?") == ["1,0", "+WIPBR: 6,1"]  # D18; "AT" prefix accepted


def test_unsolicited_create_error_while_waiting_for_ready():
    # D8, real hardware: OK now, then +CME ERROR: 842 instead of +WIPREADY.
    m, fake = make({'AT+WIPCREATE=2,1,"127.0.0.1",80': b"\r\nOK\r\n\r\n+CME ERROR: 842\r\n"})
    s = m.socket()
    with pytest.raises(wip.WipError) as exc:
        s.connect(("127.0.0.1", 80))
    assert exc.value.code == 842
    assert s.idx == 0 and m._tcp[1] is None


def test_ready_after_ok_and_urc_order_independence():
    m, fake = make({'AT+WIPCREATE=2,1,"127.0.0.1",80':
                    b"\r\nOK\r\n\r\n+WIPDATA: 2,1,5\r\n\r\n+WIPREADY: 2,1\r\n"})
    s = m.socket()
    s.connect(("127.0.0.1", 80))
    assert s.hint == 5 and s.ready


def test_noise_spelling_connect_does_not_wedge_the_modem():
    m, fake = make({"AT": b"\r\nCONNECT\r\n\r\nOK\r\n", "AT+WIPCFG=3": b"\r\nv1\r\nv2\r\nOK\r\n"})
    with pytest.raises(wip.WipError):
        m.command("")  # a CONNECT nobody asked for is refused, and the parser reset
    fake.out.clear()
    assert m.version() == "v1\nv2"


def test_echo_on_is_skipped():
    fake = ScriptedModule({"AT+WIPCFG=3": b"\r\nA\r\n\r\nB\r\n\r\nOK\r\n"}, echo=True)
    m = wip.Modem(fake, timeout=1, guard_time=0.01)
    assert m.command("+WIPCFG=3") == ["A", "B"]


def test_command_timeout_and_recovery():
    m, fake = make({"AT+WIPCFG?": b""})
    with pytest.raises(OSError) as exc:
        m.command("+WIPCFG?", timeout=0.1)
    assert exc.value.errno == ETIMEDOUT
    assert m.command("AT") == []


def test_start_sequence_and_gprs_commands():
    m, fake = make({"AT+WIPCFG=1": b"\r\n+CME ERROR: 844\r\n",
                    "AT+WIPBR=1,6": b"\r\n+CME ERROR: 804\r\n",
                    "AT+WIPBR=3,6,15": b'\r\n+WIPBR: 6,15,"10.0.0.7"\r\n\r\nOK\r\n'})
    m.start()
    assert m.gprs("apn.example", "user", "pw") == "10.0.0.7"
    assert [ln for ln in fake.lines if ln] == [
        "+++AT", "ATE0", "AT+CMEE=1", "AT+WIPCFG=1", "AT+WIPBR=1,6",
        'AT+WIPBR=2,6,11,"apn.example"', 'AT+WIPBR=2,6,0,"user"', 'AT+WIPBR=2,6,1,"pw"',
        "AT+WIPBR=4,6,0", "AT+WIPBR=3,6,15"]
    assert m.bearer_up and m.started


def test_reboot_urcs_count_once_per_boot():
    m, fake = make({"AT": b"\r\nOK\r\n\r\n+WIND: 3\r\n\r\n+WIND: 4\r\n"})
    m.command("")
    assert m.wait_for(lambda: m.reboots == 1, 0.5)
    m.wait_for(lambda: False, 0.05)
    assert m.reboots == 1
