"""The simulated module: AT dispatcher, IP stack state, data modes and URC delivery.

Everything here runs on one asyncio event loop; blocking work (TCP connects, services, ping)
runs in worker threads and comes back to the loop. Decisions of the spec are cited as Dnn.
"""

import asyncio
import collections
import concurrent.futures
import importlib
import inspect
import json
import os
import socket
import traceback

from . import parse
from .channels import (
    TX_PAUSE,
    UDP_MAX,
    Reservation,
    ServerChannel,
    TcpChannel,
    UdpChannel,
    set_ip_option,
)
from .codec import ETX_BYTE, escape
from .datamode import Mapping
from .hosts import HostsTable, PortMap, is_dotted_quad

CR = 0x0D
LF = 0x0A
LINE_STORE_MAX = 4096

VERSION_LINES = (  # D15
    "WIP soft v501 on Open AT OS v412",
    "Sep 11 2008 12:00:00 WIPLib:v5a01 WIPSoft:v5a01",
)

CFG_DEFAULTS = {0: 64, 1: 0, 2: 60, 3: 0, 4: 536, 5: 0, 6: 20, 7: 32, 8: 0, 9: 0, 10: 4,
                11: 4, 12: 0}  # D10, D11, D12
CFG_RANGES = {0: (0, 255), 1: (0, 255), 2: (1, 65535), 3: (0, 65535), 4: (536, 1460),
              5: (0, 3), 6: (1, 23), 7: (4, 42), 9: (0, 2730), 10: (1, 511), 11: (1, 292),
              12: (0, 100)}

BEARER_IDS = (1, 2, 5, 6, 11, 12, 13, 14, 21, 22, 23, 24)  # D22
PPP_BEARERS = (1, 2, 11, 12, 13, 14, 21, 22, 23, 24)
BEARER_OPTS = {  # opt: (kind, limit/range); D21 defaults below
    0: ("str", 64), 1: ("str", 64), 2: ("str", 32), 5: ("int", (0, 65535)),
    6: ("int", (0, 1)), 7: ("int", (0, 1)), 8: ("int", (0, 1)), 9: ("int", (0, 1)),
    10: ("int", (0, 1)), 11: ("str", 96), 12: ("int", (1, 4)), 13: ("int", (0, 1)),
    14: ("int", (0, 1)), 15: ("ip", None), 16: ("ip", None), 17: ("ip", None),
    18: ("ip", None), 19: ("int", (0, 1)), 20: ("int", (0, 1)),
}
BEARER_DEFAULTS = {0: "", 1: "", 2: "", 5: 0, 6: 0, 7: 1, 8: 1, 9: 1, 10: 1, 11: "", 12: 1,
                   13: 0, 14: 0, 15: "0.0.0.0", 16: "0.0.0.0", 17: "0.0.0.0", 18: "0.0.0.0",
                   19: 1, 20: 1}

# Socket options (§2.5): opt -> access per protocol (UDP, TCP client, TCP server).
SOCKET_OPT_ACCESS = {
    0: ("R", "R", "R"), 1: ("R", "R", "-"), 2: ("R", "R", "-"), 3: ("R", "-", "-"),
    4: ("-", "RW", "RW"), 5: ("-", "RW", "RW"), 6: ("R", "R", "-"), 7: ("-", "RW", "RW"),
    8: ("RW", "RW", "RW"), 9: ("RW", "RW", "RW"),
}
SOCKET_OPT_RANGES = {4: (1, 5839), 5: (1, 5839), 7: (0, 1), 8: (0, 255), 9: (0, 255)}

SERVICE_DEFAULT_PORTS = {4: 21, 5: 80, 6: 25, 7: 110}


class Cme(Exception):
    """A failure reported as +CME ERROR: <code> (or ERROR when CMEE=0, D2)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Reply:
    """What a command sends: information lines, then a final result, then its own URCs."""

    def __init__(self):
        self.info = []
        self.after = []  # URCs caused by the command (sent before older queued ones, D78)
        self.mapping = None  # CONNECT: enter this data mode
        self.then = None  # called after the final result (e.g. reboot)


class Bearer:
    def __init__(self, bid, options):
        self.bid = bid
        self.started = False
        self.options = dict(options)


def number(field, default=None):
    """A numeric parameter: bare or quoted decimal; empty -> default; else syntax error."""
    if field is None or field.empty:
        return default
    if field.is_number:
        return int(field.text)
    raise parse.AtSyntaxError("not a number")


class ServiceEnv:
    """What the services module may use from the core (interface in docs/simulator.md)."""

    def __init__(self, module):
        self._module = module

    def resolve(self, host):
        address = self._module.hosts.resolve(host)
        if address is None:
            raise self._module.service_error(842)
        return address

    def real_port(self, port):
        return self._module.ports.real(port)

    @property
    def connect_timeout(self):
        return self._module.connect_timeout

    @property
    def internet_enabled(self):
        return self._module.internet_enabled

    def peer_closed(self, proto, idx):
        self._module.loop.call_soon_threadsafe(self._module.session_dropped, proto, idx)

    def log(self, msg):
        self._module.log("#", msg)


class Module:
    """One simulated Wavecom module with WIP Soft and one UART."""

    def __init__(self, loop, log, guard_time=1.0, port_offset=0, hosts=None, sock_max=20,
                 connect_timeout=10.0):
        self.loop = loop
        self.log = log
        self.guard_time = guard_time
        self.ports = PortMap(port_offset)
        self.hosts = HostsTable(hosts)
        self.sock_max_default = sock_max
        self.connect_timeout = connect_timeout
        self.internet_enabled = True
        self.link = None
        self.executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="wipsim")
        self.env = ServiceEnv(self)
        self.flash_cfg = None  # D13: survives stack restarts and reboots
        self.flash_bearers = {}
        self.link_values = {15: "127.0.0.1", 16: "127.0.0.1", 17: "127.0.0.1", 18: "0.0.0.0"}
        # faults
        self.bearer_fail = None
        self.ping_loss = 0
        self.flash_fail = False
        self.ping_series = 0  # bumped when the stack or bearer goes: its URCs are dropped
        self.injected = {}  # command name -> error code for its next set form (`fail`)
        self.generation = 0
        self.handlers = {
            "": self.cmd_at, "E": self.cmd_echo, "V": self.cmd_verbose, "Q": self.cmd_quiet,
            "O": self.cmd_online, "+CMEE": self.cmd_cmee, "+CFUN": self.cmd_cfun,
            "+WIPCFG": self.cmd_wipcfg, "+WIPBR": self.cmd_wipbr,
            "+WIPCREATE": self.cmd_wipcreate, "+WIPCLOSE": self.cmd_wipclose,
            "+WIPOPT": self.cmd_wipopt, "+WIPDATA": self.cmd_wipdata,
            "+WIPFILE": self.cmd_wipfile, "+WIPPING": self.cmd_wipping,
        }
        self._reset_state()

    # ================================================================ state and boot
    def _reset_state(self):
        """Power-up state (§8, D73); flash is kept."""
        self.generation += 1
        self.echo = True
        self.cmee = 0
        self.stack = False
        self.cfg = {**CFG_DEFAULTS, 6: self.sock_max_default}
        self.sock_max = self.cfg[6]
        self.bearers = {}
        self.udp = {}
        self.tcp = {}
        self.servers = {}
        self.reservations = []
        self.session = None
        self.mapping = None
        self.urcs = collections.deque()
        self.busy = False
        self.pending_input = collections.deque()
        self.line = bytearray()
        self.line_overflow = False
        self.ping_running = False

    def boot(self):
        """Send the boot lines (§8)."""
        self.line_out("+WIND: 3")
        self.line_out("+WIND: 4")

    def reboot(self):
        """AT+CFUN=1 or the reboot fault: all state dropped without URCs, flash kept (§8)."""
        self.log("#", "reboot")
        self._release_all()
        if self.mapping is not None:
            self._cancel_mapping_timers(self.mapping)
            self._abort_transfer(self.mapping)
        self._reset_state()
        if self.link is not None:
            self.link.resume("tx")
            self.link.resume("upload")
        self.boot()

    def _release_all(self):
        for chan in list(self.udp.values()) + list(self.servers.values()):
            chan.release()
        for chan in self.tcp.values():
            chan.close_gracefully()
        self.udp.clear()
        self.tcp.clear()
        self.servers.clear()
        self.reservations.clear()
        self.tcp_tx_level()
        if self.session is not None:
            session, self.session = self.session, None
            self.executor.submit(self._quiet_close, session)

    def _quiet_close(self, session):
        try:
            session.close()
        except Exception:  # noqa: BLE001 - a service bug must not kill the simulator
            self.log("#", "session close failed:\n" + traceback.format_exc())

    def close(self):
        self._release_all()
        self.executor.shutdown(wait=False, cancel_futures=True)

    # ================================================================ output
    def emit(self, data, kind="<"):
        if data and self.link is not None:
            self.log(kind, data)
            self.link.write(data)

    def line_out(self, text):
        self.emit(b"\r\n" + text.encode("latin-1") + b"\r\n")

    def error_line(self, code=None):
        if code is None or self.cmee == 0:
            self.line_out("ERROR")
        else:
            self.line_out(f"+CME ERROR: {code}")

    def urc(self, text):
        """Queue an unsolicited line; it goes out at once if the UART is idle (D7)."""
        self.urcs.append(text)
        self.flush_urcs()

    def noise(self, count):
        self.urcs.append(bytes(0x80 + (i * 37) % 0x7F for i in range(count)))
        self.flush_urcs()

    def flush_urcs(self):
        if self.busy or self.mapping is not None:
            return
        while self.urcs:
            item = self.urcs.popleft()
            if isinstance(item, bytes):
                self.emit(item)
            else:
                self.line_out(item)

    def on_output_drained(self):
        if self.mapping is not None:
            self.pump()

    # ================================================================ host input
    def on_host_input(self, data, t):
        if self.busy or self.pending_input:
            self.pending_input.append((data, t))
            return
        self._process_input(data, t)

    def _drain_pending(self):
        while self.pending_input and not self.busy:
            data, t = self.pending_input.popleft()
            self._process_input(data, t)

    def _process_input(self, data, t):
        while data:
            if self.busy:
                self.pending_input.appendleft((data, t))
                return
            if self.mapping is not None:
                self.log(">", data)
                self._data_input(data, t)
                return
            data = self._at_input(data, t)

    def _at_input(self, data, t):
        """Consume AT-mode bytes up to and including one CR; return what is left."""
        cr = data.find(b"\r")
        chunk = data if cr < 0 else data[:cr + 1]
        if self.echo and self.link is not None:
            self.link.write(chunk)
        body = chunk.replace(b"\n", b"")
        if cr >= 0:
            body = body[:-1]
        room = LINE_STORE_MAX - len(self.line)
        if len(body) > room:
            self.line_overflow = True
            body = body[:max(room, 0)]
        self.line += body
        if cr < 0:
            return b""
        self._line_complete(t)
        return data[cr + 1:]

    def _line_complete(self, t):
        raw = bytes(self.line)
        overflow = self.line_overflow
        self.line.clear()
        self.line_overflow = False
        text = raw.decode("latin-1")
        pos = parse.find_at(text)
        if pos < 0:
            if raw.strip():
                self.log("#", f"ignored line without AT: {raw[:80]!r}")
            return
        body = text[pos + 2:]
        if overflow or len(body) > parse.MAX_AFTER_AT:
            self.log(">", f"<line of {len(raw)} bytes>")
            self.error_line()
            return
        if parse.has_high_bytes_outside_quotes(raw[pos + 2:]):
            self.log(">", text)
            self.error_line()
            return
        try:
            cmd = parse.parse_command(body)
        except parse.AtSyntaxError:
            self.log(">", text)
            self.error_line()
            return
        self.log(">", parse.mask_passwords(text, pos, cmd))
        self._dispatch(cmd, t)

    # ================================================================ dispatch
    def _dispatch(self, cmd, t):
        handler = self.handlers.get(cmd.name)
        if handler is None:
            self.error_line()
            return
        reply = Reply()
        self.busy = True  # URCs raised by the handler wait for its final result (D7)
        try:
            if cmd.form == "set" and cmd.name in self.injected:
                raise Cme(self.injected.pop(cmd.name))
            result = handler(cmd, reply)
        except Exception as exc:  # noqa: BLE001
            self.busy = False
            self._command_failed(exc)
            self._after_command()
            return
        if inspect.isawaitable(result):
            self.loop.create_task(self._run_async(result, reply, t))
            return
        self.busy = False
        self._finish(reply, t)

    async def _run_async(self, coro, reply, t):
        generation = self.generation
        try:
            await coro
        except Exception as exc:  # noqa: BLE001
            if generation == self.generation:
                self.busy = False
                self._command_failed(exc)
                self._after_command()
            return
        if generation != self.generation:
            return
        self.busy = False
        self._finish(reply, t)

    def _command_failed(self, exc):
        if isinstance(exc, parse.AtSyntaxError):
            self.error_line()
        elif isinstance(exc, Cme):
            self.error_line(exc.code)
        else:
            self.log("#", "internal error:\n" + traceback.format_exc())
            self.error_line()

    def _finish(self, reply, t):
        for line in reply.info:
            self.line_out(line)
        if reply.mapping is not None:
            self.line_out("CONNECT")
            self._enter_data_mode(reply.mapping, t)
        else:
            self.line_out("OK")
        self.urcs.extendleft(reversed(reply.after))
        if reply.then is not None:
            reply.then()
        self._after_command()

    def _after_command(self):
        self.flush_urcs()
        self.loop.call_soon(self._drain_pending)

    async def in_thread(self, func, *args):
        return await self.loop.run_in_executor(self.executor, func, *args)

    def service_error(self, code):
        services = self._services()
        if services is None:
            return Cme(code)
        return services.ServiceError(code)

    def _services(self):
        try:
            return importlib.import_module(__package__ + ".services")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith("services"):
                return None
            raise

    def _ping_module(self):
        try:
            return importlib.import_module(__package__ + ".ping")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith("ping"):
                return None
            raise

    # ================================================================ basic commands
    def cmd_at(self, cmd, reply):
        pass

    def cmd_echo(self, cmd, reply):
        if cmd.arg not in ("", "0", "1"):
            raise parse.AtSyntaxError("ATE value")
        self.echo = cmd.arg == "1"  # V.25ter: a missing value is 0, so ATE = ATE0

    def cmd_verbose(self, cmd, reply):
        if cmd.arg != "1":  # D73: ATV0 (and bare ATV, i.e. V0) unsupported
            raise parse.AtSyntaxError("ATV0")

    def cmd_quiet(self, cmd, reply):
        if cmd.arg not in ("", "0"):  # D73
            raise parse.AtSyntaxError("ATQ1")

    def cmd_online(self, cmd, reply):
        if cmd.arg not in ("", "0"):
            raise parse.AtSyntaxError("ATO value")
        raise Cme(3)  # D63

    def cmd_cmee(self, cmd, reply):
        if cmd.form == "test":
            reply.info.append("+CMEE: (0-2)")
            return
        if cmd.form == "read":
            reply.info.append(f"+CMEE: {self.cmee}")
            return
        if cmd.form != "set" or len(cmd.fields) != 1:
            raise parse.AtSyntaxError("CMEE form")
        value = number(cmd.fields[0])
        if value not in (0, 1, 2):  # D74
            raise Cme(3)
        self.cmee = value

    def cmd_cfun(self, cmd, reply):
        if cmd.form == "test":
            reply.info.append("+CFUN: (1)")
            return
        if cmd.form == "read":
            reply.info.append("+CFUN: 1")
            return
        if cmd.form != "set" or len(cmd.fields) != 1:
            raise parse.AtSyntaxError("CFUN form")
        if number(cmd.fields[0]) != 1:
            raise Cme(3)
        reply.then = self.reboot

    # ================================================================ +WIPCFG
    def cmd_wipcfg(self, cmd, reply):
        if cmd.form == "test":
            return
        if cmd.form == "read":
            if not self.stack:
                raise Cme(803)  # D14
            reply.info.extend(f"+WIPCFG: {opt},{self.cfg[opt]}" for opt in range(13))
            return
        if cmd.form != "set":
            raise parse.AtSyntaxError("WIPCFG form")
        f = cmd.fields
        mode = number(f[0])
        counts = {0: (1,), 1: (1,), 2: (3,), 3: (1,), 4: (2,)}
        if mode is None:
            raise parse.AtSyntaxError("WIPCFG mode")
        if mode in counts and len(f) not in counts[mode]:
            raise parse.AtSyntaxError("WIPCFG parameter count")
        if mode == 0:
            if self.stack:
                self._stop_stack()
            return
        if mode == 1:
            if self.stack:
                raise Cme(844)
            self._start_stack()
            return
        if mode == 2:
            opt = number(f[1])
            if opt is None:
                raise parse.AtSyntaxError("WIPCFG option")
            if not self.stack:
                raise Cme(803)
            if opt == 8 or opt not in CFG_RANGES:
                raise Cme(800)  # D12
            value = f[2]
            if not value.is_number:
                raise Cme(801)  # D2: a wrong-typed option value
            value = int(value.text)
            low, high = CFG_RANGES[opt]
            if not low <= value <= high:
                raise Cme(801)
            self.cfg[opt] = value  # D13: 6, 7, 9-11 only take effect at the next start
            return
        if mode == 3:
            reply.info.extend(VERSION_LINES)
            return
        if mode == 4:
            action = number(f[1])
            if action is None:
                raise parse.AtSyntaxError("WIPCFG action")
            if action == 1:
                if self.flash_fail:
                    self.flash_fail = False
                    raise Cme(820)
                self.flash_cfg = dict(self.cfg)
            elif action == 0:
                self.flash_cfg = None
            else:
                raise Cme(800)
            return
        raise Cme(800)

    def _start_stack(self):
        """D13: load the stored set, or the defaults, for every option."""
        base = {**CFG_DEFAULTS, 6: self.sock_max_default}
        self.cfg = dict(self.flash_cfg) if self.flash_cfg else base
        self.sock_max = self.cfg[6]
        self.stack = True

    def _stop_stack(self):
        """D16: everything released, bearers closed, no URCs; a mapped UART gets OK."""
        if self.mapping is not None:
            self._lose_mapping()
        self._release_all()
        self.bearers.clear()
        self._cancel_ping()
        self.stack = False

    # ================================================================ +WIPBR
    def cmd_wipbr(self, cmd, reply):
        if cmd.form == "test":
            return
        if cmd.form == "read":
            if not self.stack:
                raise Cme(803)
            for bid in sorted(self.bearers):  # D18: bare lines
                reply.info.append(f"{bid},{1 if self.bearers[bid].started else 0}")
            return
        if cmd.form != "set":
            raise parse.AtSyntaxError("WIPBR form")
        f = cmd.fields
        if len(f) < 2:
            raise parse.AtSyntaxError("WIPBR parameters")
        cmdtype = number(f[0])
        bid = number(f[1])
        if cmdtype is None or bid is None:
            raise parse.AtSyntaxError("WIPBR cmdtype/bid")
        counts = {0: (2,), 1: (2,), 2: (4,), 3: (3,), 4: (3, 4, 5, 6), 5: (2,), 6: (3,)}
        if cmdtype in counts and len(f) not in counts[cmdtype]:
            raise parse.AtSyntaxError("WIPBR parameter count")
        if cmdtype == 3 or cmdtype == 2:
            number(f[2])  # the option number must be numeric
        if cmdtype in (4, 6):
            number(f[2])
        if not self.stack:
            raise Cme(803)
        if cmdtype not in counts:
            raise Cme(800)
        if bid in (3, 4):
            raise Cme(805)
        if bid not in BEARER_IDS:
            raise Cme(801)
        bearer = self.bearers.get(bid)
        if cmdtype == 1:
            if bearer is not None:
                raise Cme(804)
            stored = self.flash_bearers.get(bid, BEARER_DEFAULTS)
            self.bearers[bid] = Bearer(bid, stored)
            return
        if cmdtype == 6:
            action = number(f[2])
            if action == 0:
                self.flash_bearers.pop(bid, None)
                return
            if action != 1:
                raise Cme(800)
            if bearer is None:
                raise Cme(803)
            if self.flash_fail:
                self.flash_fail = False
                raise Cme(820)
            self.flash_bearers[bid] = dict(bearer.options)
            return
        if bearer is None:
            raise Cme(803)  # D19
        if cmdtype == 0:
            if bearer.started:
                self._bearer_down(bearer)
            del self.bearers[bid]
            return
        if cmdtype == 5:
            if bearer.started:
                self._bearer_down(bearer)
            return
        if cmdtype == 2:
            self._set_bearer_option(bearer, number(f[2]), f[3])
            return
        if cmdtype == 3:
            opt = number(f[2])
            value = self._get_bearer_option(bearer, opt)
            reply.info.append(f"+WIPBR: {bid},{opt},{value}")
            return
        if cmdtype == 4:
            self._start_bearer(bearer, f[2:])

    def _set_bearer_option(self, bearer, opt, field):
        if opt not in BEARER_OPTS:
            raise Cme(800)  # D22: 3 and 4 are reserved
        kind, limit = BEARER_OPTS[opt]
        if kind == "int":
            if not field.is_number:
                raise Cme(801)
            value = int(field.text)
            if not limit[0] <= value <= limit[1]:
                raise Cme(801)
        elif kind == "str":
            value = field.text
            if len(value) > limit:
                raise Cme(801)
        else:
            value = field.text
            if not is_dotted_quad(value):
                raise Cme(801)
        bearer.options[opt] = value

    def _get_bearer_option(self, bearer, opt):
        if opt not in BEARER_OPTS:
            raise Cme(800)
        kind = BEARER_OPTS[opt][0]
        value = bearer.options[opt]
        if kind == "ip":  # D21
            if not bearer.started:
                value = "0.0.0.0"
            elif value == "0.0.0.0":
                value = self.link_values[opt]
        if kind == "int":
            return str(value)
        return f'"{value}"'

    def _start_bearer(self, bearer, params):
        mode = number(params[0])
        if bearer.started or any(b.started for b in self.bearers.values()):
            raise Cme(803)  # D19
        if mode not in (0, 1):
            raise Cme(800)
        if bearer.bid in PPP_BEARERS:
            raise Cme(805)  # D23
        if mode == 1:
            raise Cme(806 if bearer.bid == 6 else 805)  # D23
        if len(params) > 1:
            raise Cme(800)  # extra parameters on a client start
        if self.bearer_fail is not None:
            code, self.bearer_fail = self.bearer_fail, None
            raise Cme(code)
        bearer.started = True  # D20: the client start is synchronous

    def _bearer_down(self, bearer):
        """D24: release every socket and session; +WIPPEERCLOSE for TCP clients, session."""
        bearer.started = False
        self._cancel_ping()
        mapping = self.mapping
        if mapping is not None:
            self._fatal_unmap(843)
        for idx, chan in sorted(self.tcp.items()):
            if not chan.peerclose_sent:
                self.urcs.append(f"+WIPPEERCLOSE: 2,{idx}")
            chan.abort()
        if self.session is not None:
            session = self.session
            self.urcs.append(f"+WIPPEERCLOSE: {session.proto},{session.idx}")
        for chan in list(self.udp.values()) + list(self.servers.values()):
            chan.release()
        self.tcp.clear()
        self.udp.clear()
        self.servers.clear()
        self.reservations.clear()
        self.tcp_tx_level()
        if self.session is not None:
            session, self.session = self.session, None
            self.executor.submit(self._quiet_close, session)
        self.flush_urcs()

    def bearer_started(self):
        return any(b.started for b in self.bearers.values())

    # ================================================================ +WIPCREATE
    def socket_count(self):
        return len(self.udp) + len(self.tcp) + len(self.servers)

    def _reservations_alive(self):
        self.reservations = [r for r in self.reservations if r.alive]
        return self.reservations

    def cmd_wipcreate(self, cmd, reply):
        if cmd.form in ("test", "read"):
            return None  # D4
        if cmd.form != "set" or len(cmd.fields) < 2:
            raise parse.AtSyntaxError("WIPCREATE form")
        f = cmd.fields
        mode = number(f[0])
        idx = number(f[1])
        if mode is None or idx is None:
            raise parse.AtSyntaxError("WIPCREATE mode/index")
        rest = f[2:]
        if mode == 1:
            plan = self._udp_plan(rest)
        elif mode == 2:
            if len(rest) not in (1, 2):
                raise parse.AtSyntaxError("WIPCREATE=2 parameters")
            plan = {"peer": rest[0], "pport": rest[1] if len(rest) > 1 else None,
                    "error": None if len(rest) == 2 else 800}
        elif mode == 3:
            if len(rest) != 3:
                raise parse.AtSyntaxError("WIPCREATE=3 parameters")
            plan = {"lport": rest[0], "first": number(rest[1]), "last": number(rest[2])}
            if plan["first"] is None or plan["last"] is None:
                raise parse.AtSyntaxError("WIPCREATE=3 range")
        else:
            plan = None
        # D5 order: 803, 837, 830, 832, 800, 845, 840, 838, 833, 839, 842...
        if not self.stack or not self.bearer_started():
            raise Cme(803)
        if not 1 <= mode <= 7:
            raise Cme(837)
        if mode == 3:
            if not 1 <= idx <= 4 or not 1 <= plan["first"] <= plan["last"] <= 8:
                raise Cme(830)
        elif not 1 <= idx <= 8:
            raise Cme(830)
        if mode >= 4:
            return self._create_session(mode, idx, rest, reply)
        if mode == 1:
            return self._create_udp(idx, plan, reply)
        if mode == 2:
            return self._create_tcp(idx, plan, reply)
        return self._create_server(idx, plan, reply)

    @staticmethod
    def _udp_plan(rest):
        """D25: number = local port; string + number = peer; number, string, number = both."""
        if len(rest) > 3:
            raise parse.AtSyntaxError("WIPCREATE=1 parameters")
        plan = {"lport": None, "peer": None, "pport": None, "error": None}
        kinds = ["s" if x.is_string and not x.empty else "n" for x in rest]
        if len(rest) == 1:
            if kinds[0] == "s":
                plan.update(peer=rest[0], error=800)
            else:
                plan["lport"] = rest[0]
        elif len(rest) == 2:
            if kinds[0] == "s":
                plan.update(peer=rest[0], pport=rest[1])
            else:
                plan.update(lport=rest[0], error=800)
        elif len(rest) == 3:
            plan.update(lport=rest[0], peer=rest[1], pport=rest[2])
        return plan

    @staticmethod
    def _port(field, low=1, allow_empty=False):
        """A port field: 832 when not a number or out of range."""
        if field is None or field.empty:
            if allow_empty:
                return None
            raise Cme(832)
        if not field.is_number:
            raise Cme(832)
        value = int(field.text)
        if not low <= value <= 65535:
            raise Cme(832)
        return value

    def _check_pool(self):
        if self.socket_count() >= self.sock_max:
            raise Cme(838)  # D33

    def _resolve(self, field, code=842):
        address = self.hosts.resolve(field.text) if field is not None else None
        if address is None:
            raise Cme(code)  # D72
        return address

    def _create_udp(self, idx, plan, reply):
        lport = self._port(plan["lport"], low=0, allow_empty=True)
        pport = None
        if plan["peer"] is not None and plan["pport"] is not None:
            pport = self._port(plan["pport"])
        if plan["error"]:
            raise Cme(plan["error"])
        if idx in self.udp:
            raise Cme(840)
        self._check_pool()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("127.0.0.1", self.ports.real(lport) if lport else 0))
        except OSError as exc:
            sock.close()
            raise Cme(833) from exc  # D36
        peer = None
        if plan["peer"] is not None:
            try:
                peer = (self._resolve(plan["peer"]), self.ports.real(pport))
            except Cme:
                sock.close()
                raise
        sock.setblocking(False)
        chan = UdpChannel(self, idx, sock, peer)
        set_ip_option(sock, 8, chan.opts[8])
        set_ip_option(sock, 9, chan.opts[9])
        chan.opts[3] = 1 if peer else 0  # D45
        self.udp[idx] = chan
        chan.start_reading()
        reply.after.append(f"+WIPREADY: 1,{idx}")

    async def _create_tcp(self, idx, plan, reply):
        pport = self._port(plan["pport"]) if plan["pport"] is not None else None
        if plan["error"]:
            raise Cme(plan["error"])
        if any(r.covers(idx) for r in self._reservations_alive()):
            raise Cme(845)  # D32: before 840
        if idx in self.tcp:
            raise Cme(840)
        self._check_pool()
        address = self._resolve(plan["peer"])
        target = (address, self.ports.real(pport))
        generation = self.generation
        try:
            sock = await self.in_thread(socket.create_connection, target, self.connect_timeout)
        except OSError as exc:
            self.log("#", f"connect {target} failed: {exc}")
            raise Cme(842) from exc  # D8
        if generation != self.generation or idx in self.tcp or not self.bearer_started():
            sock.close()
            raise Cme(842)
        sock.setblocking(False)
        chan = TcpChannel(self, idx, sock)
        set_ip_option(sock, 8, chan.opts[8])
        set_ip_option(sock, 9, chan.opts[9])
        self.tcp[idx] = chan
        chan.update_reading()
        reply.after.append(f"+WIPREADY: 2,{idx}")

    def _create_server(self, idx, plan, reply):
        lport = self._port(plan["lport"])
        first, last = plan["first"], plan["last"]
        if any(i in self.tcp for i in range(first, last + 1)):
            raise Cme(845)
        if any(r.overlaps(first, last) for r in self._reservations_alive()):
            raise Cme(845)
        if idx in self.servers:
            raise Cme(840)
        self._check_pool()
        try:
            sock = socket.create_server(("127.0.0.1", self.ports.real(lport)), backlog=16)
        except OSError as exc:
            raise Cme(833) from exc
        sock.setblocking(False)
        chan = ServerChannel(self, idx, sock, first, last)
        set_ip_option(sock, 8, chan.opts[8])
        set_ip_option(sock, 9, chan.opts[9])
        self.servers[idx] = chan
        chan.reservation = Reservation(idx, first, last)
        self.reservations.append(chan.reservation)
        chan.start_reading()

    async def _create_session(self, proto, idx, fields, reply):
        if proto in (4, 6, 7) and (not fields or fields[0].empty or fields[0].text == ""):
            raise Cme(800)  # D26: empty server name
        services = self._services()
        values = [x.service_value() for x in fields]
        if services is not None and hasattr(services, "check_create"):
            try:
                services.check_create(proto, values)  # D5: 832 and 800 come before 840
            except services.ServiceSyntaxError as exc:
                raise parse.AtSyntaxError(str(exc)) from exc
            except services.ServiceError as exc:
                raise Cme(self._service_code(exc)) from exc
        if self.session is not None:
            raise Cme(840)  # D34
        if not self.internet_enabled:
            raise Cme(839)  # D37
        if services is None:
            self.log("#", "tools/wipsim/services.py is missing: sessions unavailable")
            raise Cme(839)
        generation = self.generation
        try:
            session = await self.in_thread(services.create_session, proto, idx, values,
                                           self.env)
        except services.ServiceSyntaxError as exc:
            raise parse.AtSyntaxError(str(exc)) from exc
        except services.ServiceError as exc:
            raise Cme(self._service_code(exc)) from exc
        if generation != self.generation or self.session is not None:
            self.executor.submit(self._quiet_close, session)
            raise Cme(840)
        self.session = session
        if getattr(session, "ready_urc", False):
            reply.after.append(f"+WIPREADY: {proto},{idx}")

    @staticmethod
    def _service_code(exc):
        code = getattr(exc, "code", None)
        if code is None and exc.args:
            code = exc.args[0]
        return int(code) if code is not None else 860

    def session_dropped(self, proto, idx):
        """A service server dropped the session (D40)."""
        session = self.session
        if session is None or session.proto != proto or session.idx != idx:
            return
        self.session = None
        self.executor.submit(self._quiet_close, session)
        self.urc(f"+WIPPEERCLOSE: {proto},{idx}")

    # ================================================================ spawning
    def server_accepted(self, server, conn):
        """A connection to a module server: spawn on the lowest free index, or close (D30)."""
        reservation = server.reservation
        free = [i for i in range(reservation.first, reservation.last + 1) if i not in self.tcp]
        if not free or self.socket_count() >= self.sock_max:
            self.log("#", f"server {server.idx}: no free index, connection closed (D35)")
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            conn.close()
            return
        idx = free[0]
        opts = {k: server.opts[k] for k in (4, 5, 7, 8, 9)}  # D45
        chan = TcpChannel(self, idx, conn, server_idx=server.idx, opts=opts)
        for opt in (8, 9):
            set_ip_option(conn, opt, opts[opt])
        if opts[7]:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        chan.reservation = reservation
        reservation.spawned.add(idx)
        self.tcp[idx] = chan
        chan.update_reading()
        self.urc(f"+WIPACCEPT: {server.idx},{idx}")

    # ================================================================ +WIPCLOSE
    def cmd_wipclose(self, cmd, reply):
        if cmd.form in ("test", "read"):
            return None
        if cmd.form != "set" or len(cmd.fields) != 2:
            raise parse.AtSyntaxError("WIPCLOSE form")
        proto = number(cmd.fields[0])
        idx = number(cmd.fields[1])
        if proto is None or idx is None:
            raise parse.AtSyntaxError("WIPCLOSE parameters")
        if not self.stack:
            raise Cme(803)
        if not 1 <= proto <= 7:
            raise Cme(837)
        if not 1 <= idx <= (4 if proto == 3 else 8):
            raise Cme(830)
        if proto == 1:
            chan = self.udp.pop(idx, None)
            if chan is not None:
                self._unmap_if(chan)
                chan.release()
            return None
        if proto == 2:
            chan = self.tcp.pop(idx, None)
            if chan is not None:
                self._unmap_if(chan)
                chan.close_gracefully()  # D39: flush, FIN
                if chan.reservation is not None:
                    chan.reservation.spawned.discard(idx)
                self._reservations_alive()
                self.tcp_tx_level()
            return None
        if proto == 3:
            chan = self.servers.pop(idx, None)
            if chan is not None:
                chan.release()
                chan.reservation.server_open = False
                self._reservations_alive()
            return None
        session = self.session
        if session is None or session.proto != proto or session.idx != idx:
            raise Cme(831)
        return self._close_session(session, reply)

    async def _close_session(self, session, reply):
        self.session = None
        mapping = self.mapping
        if mapping is not None and mapping.kind == "file" and (
                mapping.proto, mapping.idx) == (session.proto, session.idx):
            self._lose_mapping()  # D60
        try:
            peer_close = await self.in_thread(session.close)
        except Exception:  # noqa: BLE001
            self.log("#", "session close failed:\n" + traceback.format_exc())
            peer_close = False
        if peer_close:
            reply.after.append(f"+WIPPEERCLOSE: {session.proto},{session.idx}")

    def _unmap_if(self, chan):
        """D60: the socket is closed elsewhere while mapped (the `close` fault stands in for a
        second UART)."""
        if self.mapping is not None and self.mapping.chan is chan:
            self._lose_mapping()

    def _lose_mapping(self):
        """D60, D16: the UART loses its mapping to another UART's command: flush (§3.10), then
        `OK`. A file transfer is cut like a guarded `+++` (D52): no ETX, no URC."""
        mapping = self.mapping
        if mapping.kind == "file":
            mapping.finished = True
            self._abort_transfer(mapping)
        self._leave_data_mode("OK")

    # ================================================================ +WIPOPT
    def cmd_wipopt(self, cmd, reply):
        if cmd.form in ("test", "read"):
            return None
        f = cmd.fields
        if cmd.form != "set" or len(f) not in (4, 5):
            raise parse.AtSyntaxError("WIPOPT form")
        proto, idx, action, opt = (number(x) for x in f[:4])
        if None in (proto, idx, action, opt):
            raise parse.AtSyntaxError("WIPOPT parameters")
        if action == 1 and len(f) != 4 or action == 2 and len(f) != 5:
            raise parse.AtSyntaxError("WIPOPT parameter count")
        if not self.stack:
            raise Cme(803)
        if not 1 <= proto <= 7:
            raise Cme(837)
        if action not in (1, 2):
            raise Cme(800)
        if proto >= 4:
            session = self.session
            if session is None or session.proto != proto or session.idx != idx:
                raise Cme(830)
            value = f[4].service_value() if action == 2 else None
            return self._session_option(session, action, opt, value, reply)
        table = {1: self.udp, 2: self.tcp, 3: self.servers}[proto]
        chan = table.get(idx)
        if chan is None:
            raise Cme(830)  # D43
        if opt not in SOCKET_OPT_ACCESS:
            raise Cme(800)
        access = SOCKET_OPT_ACCESS[opt][proto - 1]
        if access == "-" or (action == 1 and "R" not in access) or (
                action == 2 and "W" not in access):
            raise Cme(835)
        if action == 1:
            reply.info.append(f"+WIPOPT: {proto},{opt},{self._socket_option(chan, opt)}")
            return None
        field = f[4]
        if not field.is_number:
            raise Cme(801)
        value = int(field.text)
        low, high = SOCKET_OPT_RANGES[opt]
        if not low <= value <= high:
            raise Cme(801)
        chan.opts[opt] = value
        if opt in (8, 9) and chan.sock is not None:
            set_ip_option(chan.sock, opt, value)
        if opt == 7 and proto == 2 and chan.sock is not None:
            chan.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, value)
        return None

    def _socket_option(self, chan, opt):
        if opt == 0:
            return str(chan.local_port())
        if opt in (1, 2):
            if chan.proto == 2:
                peer = chan.peer
            else:
                peer = chan.peer or chan.last_sender or ("0.0.0.0", 0)  # D58
            if opt == 1:
                return str(self.ports.visible(peer[1]))
            return f'"{peer[0]}"'
        if opt == 6:  # D46
            if chan.proto == 2:
                return str(len(chan.rx))
            return str(len(chan.queue[0][0]) if chan.queue else 0)
        return str(chan.opts.get(opt, 0))

    async def _session_option(self, session, action, opt, value, reply):
        services = self._services()
        try:
            if action == 1:
                values = await self.in_thread(session.get_option, opt)
            else:
                values = await self.in_thread(session.set_option, opt, value)
        except Exception as exc:
            if services is not None and isinstance(exc, services.ServiceError):
                raise Cme(self._service_code(exc)) from exc
            if services is not None and isinstance(exc, services.ServiceSyntaxError):
                raise parse.AtSyntaxError(str(exc)) from exc
            raise
        for part in values or []:
            reply.info.append(f"+WIPOPT: {session.proto},{opt},{part}")

    # ================================================================ +WIPDATA
    def cmd_wipdata(self, cmd, reply):
        if cmd.form in ("test", "read"):
            return
        f = cmd.fields
        if cmd.form != "set" or len(f) != 3:
            raise parse.AtSyntaxError("WIPDATA form")
        proto, idx, mode = (number(x) for x in f)
        if None in (proto, idx, mode):
            raise parse.AtSyntaxError("WIPDATA parameters")
        if not self.stack:
            raise Cme(803)
        if proto not in (1, 2):
            raise Cme(837)  # D61
        if mode not in (0, 1, 2):
            raise Cme(800)
        if mode == 2 and proto == 1:
            raise Cme(837)
        if not 1 <= idx <= 8:
            raise Cme(830)
        chan = (self.udp if proto == 1 else self.tcp).get(idx)
        if chan is None:
            raise Cme(831)
        if mode == 0:
            return  # D60: OK if the socket exists
        if proto == 2 and chan.dead:
            raise Cme(chan.dead)  # D55
        kind = "cont" if mode == 1 else "transp"
        reply.mapping = Mapping(kind, proto, idx, chan, self.guard_time, self.loop.time())

    # ================================================================ data mode
    def _enter_data_mode(self, mapping, t):
        mapping.detector.last_rx = t
        self.mapping = mapping
        chan = mapping.chan
        if mapping.kind != "file" and mapping.proto == 1 and chan.queue:
            mapping.sender = chan.queue[0][1]  # D66
        elif mapping.kind != "file" and mapping.proto == 1:
            mapping.sender = chan.peer
        if mapping.kind == "file":
            self.loop.create_task(self._run_transfer(mapping))
        else:
            self.pump()

    def _data_input(self, data, t):
        mapping = self.mapping
        det = mapping.detector
        decided = det.poll(t)
        if decided == "escape":
            self._escape_confirmed()
            if data:
                self._process_input(data, t)
            return
        if decided:
            self._data_bytes(mapping, decided)
        payload = det.feed(data, t)
        if payload:
            self._data_bytes(mapping, payload)
        self._schedule_escape_timer(mapping)
        if not det.holding:
            self.pump()

    def _schedule_escape_timer(self, mapping):
        if mapping.timer is not None:
            mapping.timer.cancel()
            mapping.timer = None
        if mapping.detector.holding and self.mapping is mapping:
            mapping.timer = self.loop.call_at(mapping.detector.deadline + 0.001,
                                              self._escape_timer, mapping)

    def _escape_timer(self, mapping):
        mapping.timer = None
        if self.mapping is not mapping:
            return
        decided = mapping.detector.poll(self.loop.time())
        if decided == "escape":
            self._escape_confirmed()
        elif decided:
            self._data_bytes(mapping, decided)
            self.pump()
        else:
            self._schedule_escape_timer(mapping)

    def _escape_confirmed(self):
        mapping = self.mapping
        self.log("#", "guarded +++ recognised")
        if mapping.kind == "file":
            self._file_abort(mapping)
            return
        self._leave_data_mode("OK")

    def _data_bytes(self, mapping, payload):
        """Host bytes that are data (not part of a +++ candidate)."""
        if mapping.kind == "file":
            self._file_input(mapping, payload)
            return
        chan = mapping.chan
        if mapping.kind == "transp":
            self._tcp_from_host(chan, payload)
            return
        for event in mapping.decoder.feed(payload):
            if mapping.proto == 2:
                if chan.shut_wr or chan.dead:
                    return  # D54: data after the ETX is discarded
                if event is None:
                    chan.shutdown_send()
                    return
                self._tcp_from_host(chan, event)
            elif event is None:
                if mapping.udp_out:  # D58: an empty ETX sends nothing
                    chan.send(bytes(mapping.udp_out))
                    mapping.udp_out.clear()
            else:
                mapping.udp_out += event
                while len(mapping.udp_out) >= UDP_MAX:
                    chan.send(bytes(mapping.udp_out[:UDP_MAX]))
                    del mapping.udp_out[:UDP_MAX]

    def _tcp_from_host(self, chan, data):
        """§3.11, D67: coalesce while PREF_TIMEOUT > 0 and NODELAY is off."""
        if chan.dead or chan.shut_wr:
            return
        pref = self.cfg[12]
        if pref == 0 or chan.opts.get(7):
            chan.write(data)
            return
        chan.coalesce += data
        unit = 2 * self.cfg[4]
        while len(chan.coalesce) >= unit:
            chan.write(bytes(chan.coalesce[:unit]))
            del chan.coalesce[:unit]
        chan.cancel_coalesce()
        if chan.coalesce:
            chan.coalesce_timer = self.loop.call_later(pref * 0.1, self._coalesce_flush, chan)

    def _coalesce_flush(self, chan):
        chan.coalesce_timer = None
        if chan.coalesce:
            data = bytes(chan.coalesce)
            chan.coalesce.clear()
            chan.write(data)

    def tcp_tx_level(self, chan=None):
        """Pause host input while a slow peer has too much unsent data; resume after."""
        if self.link is None:
            return
        if chan is not None and len(chan.tx) > TX_PAUSE and chan.idx in self.tcp:
            self.link.pause("tx")
        elif all(len(c.tx) <= TX_PAUSE for c in self.tcp.values()):
            self.link.resume("tx")

    def pump(self):
        """Move received socket data to the host while a socket is mapped."""
        mapping = self.mapping
        if mapping is None or mapping.kind == "file" or mapping.detector.holding:
            return
        chan = mapping.chan
        link = self.link
        while link is not None and link.pending < link.high_water and self.mapping is mapping:
            if mapping.proto == 2:
                if chan.rx:
                    chunk = chan.take(min(4096, link.high_water))
                    self.emit(escape(chunk) if mapping.kind == "cont" else chunk)
                    continue
                if chan.peer_fin and mapping.kind == "cont" and not mapping.fin_sent:
                    mapping.fin_sent = True  # D53
                    self.emit(ETX_BYTE + b"\r\nSHUTDOWN\r\n")
                break
            if not chan.queue:
                break
            payload, sender = chan.queue[0]
            if mapping.sender is None:
                mapping.sender = sender
            if sender != mapping.sender:
                break  # D66: another sender waits for the next mapping
            chan.queue.popleft()
            chan.head_announced = False
            chan.last_sender = sender
            self.emit(escape(payload) + ETX_BYTE)

    def _leave_data_mode(self, final):
        """Flush (§3.10), send the final result, then announce what is left and the URCs."""
        mapping = self.mapping
        self._cancel_mapping_timers(mapping)
        chan = mapping.chan
        if mapping.kind != "file":
            if mapping.proto == 2:
                chan.cancel_coalesce()
                if chan.coalesce and not chan.dead:
                    chan.write(bytes(chan.coalesce))
                chan.coalesce.clear()
            elif mapping.udp_out:
                chan.send(bytes(mapping.udp_out))
                mapping.udp_out.clear()
        mapping.decoder.reset()
        self.mapping = None
        if self.link is not None:
            self.link.resume("upload")
        if final is not None:
            if isinstance(final, int):
                self.error_line(final)
            else:
                self.line_out(final)
        if mapping.kind != "file":
            self._announce(chan)
        self.flush_urcs()
        if self.pending_input:
            self.loop.call_soon(self._drain_pending)

    def _cancel_mapping_timers(self, mapping):
        if mapping.timer is not None:
            mapping.timer.cancel()
            mapping.timer = None

    def _fatal_unmap(self, code):
        """The mapped socket or session failed (reset, timeout, bearer loss): leave data mode
        with an error and no flushing (§3.10).

        TCP continuous mode: unescaped ETX, then the error (§3.4, D55, D24).
        UDP continuous mode (bearer loss, D24): the error alone. On UDP a bare ETX is a
        zero-length datagram (§3.5, D57, Appendix B), so an ETX here would hand the app a
        datagram that was never sent.
        Transparent mode: the error alone (§3.8, D56).
        File download still sending data: ETX, then the error (D49); an upload, or a download
        whose closing ETX is already out, gets the error alone (§2.6: no module bytes during
        an upload).
        """
        mapping = self.mapping
        if (mapping.kind == "cont" and mapping.proto == 2) or (
                mapping.kind == "file" and not mapping.transfer.upload and not mapping.finished):
            self.emit(ETX_BYTE)
        if mapping.kind == "file":
            mapping.finished = True
            self._abort_transfer(mapping)
        self._cancel_mapping_timers(mapping)
        mapping.decoder.reset()
        self.mapping = None
        if self.link is not None:
            self.link.resume("upload")
        self.error_line(code)
        self.flush_urcs()
        if self.pending_input:
            self.loop.call_soon(self._drain_pending)

    def _announce(self, chan):
        """+WIPDATA URCs for an unmapped socket with unread data (D59)."""
        if chan.proto == 2:
            if chan.rx and not chan.dead and chan.idx in self.tcp:
                self.urc(f"+WIPDATA: 2,{chan.idx},{len(chan.rx)}")
        elif chan.queue and not chan.head_announced and chan.idx in self.udp:
            payload, (ip, port) = chan.queue[0]
            chan.head_announced = True
            self.urc(f'+WIPDATA: 1,{chan.idx},{len(payload)},"{ip}",{self.ports.visible(port)}')

    def _is_mapped(self, chan):
        return self.mapping is not None and self.mapping.chan is chan

    # ================================================================ socket events
    def udp_received(self, chan):
        if self._is_mapped(chan):
            self.pump()
        else:
            self._announce(chan)

    def tcp_received(self, chan, was_empty):
        if self._is_mapped(chan):
            self.pump()
        elif was_empty:
            self.urc(f"+WIPDATA: 2,{chan.idx},{len(chan.rx)}")

    def tcp_peer_fin(self, chan):
        """D53: a FIN from the peer."""
        if chan.peer_fin or chan.dead:
            return
        chan.peer_fin = True
        if not chan.peerclose_sent:
            chan.peerclose_sent = True
            self.urc(f"+WIPPEERCLOSE: 2,{chan.idx}")
        if self._is_mapped(chan):
            self.pump()

    def tcp_reset(self, chan, code):
        """D55: reset (843) or timeout (842); the socket stays allocated but dead."""
        if chan.dead:
            return
        chan.dead = code
        chan.rx.clear()
        chan.coalesce.clear()
        chan.tx.clear()
        chan.abort()
        self.tcp_tx_level()
        if self._is_mapped(chan):
            if not chan.peerclose_sent:
                chan.peerclose_sent = True
            self._fatal_unmap(code)
        elif not chan.peerclose_sent:
            chan.peerclose_sent = True
            self.urc(f"+WIPPEERCLOSE: 2,{chan.idx}")

    # ================================================================ +WIPFILE
    def cmd_wipfile(self, cmd, reply):
        if cmd.form in ("test", "read"):
            return None
        f = cmd.fields
        if cmd.form != "set" or len(f) < 3:
            raise parse.AtSyntaxError("WIPFILE form")
        proto, idx, mode = (number(x) for x in f[:3])
        if None in (proto, idx, mode):
            raise parse.AtSyntaxError("WIPFILE parameters")
        if not self.stack:
            raise Cme(803)
        if not 4 <= proto <= 7:
            raise Cme(837)
        if not 1 <= idx <= 8:
            raise Cme(830)
        session = self.session
        if session is None or session.proto != proto or session.idx != idx:
            raise Cme(830)
        return self._start_file(session, mode, [x.service_value() for x in f[3:]], reply)

    async def _start_file(self, session, mode, fields, reply):
        services = self._services()
        try:
            transfer = await self.in_thread(session.start_file, mode, fields)
        except services.ServiceSyntaxError as exc:
            raise parse.AtSyntaxError(str(exc)) from exc
        except services.ServiceError as exc:
            raise Cme(self._service_code(exc)) from exc
        mapping = Mapping("file", session.proto, session.idx, None, self.guard_time,
                          self.loop.time())
        mapping.transfer = transfer
        if transfer.upload:
            mapping.upload_queue = asyncio.Queue()
        reply.mapping = mapping

    def _file_input(self, mapping, payload):
        if not mapping.transfer.upload or mapping.finished:
            return  # D49: host bytes during a download are ignored
        for event in mapping.decoder.feed(payload):
            if event is None:
                mapping.finished = True
                mapping.upload_queue.put_nowait(None)
                return
            mapping.upload_queue.put_nowait(event)
        if mapping.upload_queue.qsize() > 64 and self.link is not None:
            self.link.pause("upload")

    def _file_abort(self, mapping):
        """D52: a guarded +++ aborts the transfer; the reply is OK, no URC."""
        if mapping.aborted:
            return
        mapping.aborted = True
        mapping.finished = True
        if mapping.upload_queue is not None:
            mapping.upload_queue.put_nowait("abort")
        else:
            self._abort_transfer(mapping)
            self._leave_data_mode("OK")

    def _abort_transfer(self, mapping):
        transfer = mapping.transfer
        if transfer is None:
            return
        mapping.aborted = True
        if mapping.upload_queue is not None:
            mapping.upload_queue.put_nowait("abort")  # wakes the upload task, which stops
        self.executor.submit(self._call_quietly, transfer.abort)

    def _call_quietly(self, func):
        try:
            func()
        except Exception:  # noqa: BLE001
            self.log("#", "transfer abort failed:\n" + traceback.format_exc())

    async def _run_transfer(self, mapping):
        try:
            if mapping.transfer.upload:
                await self._run_upload(mapping)
            else:
                await self._run_download(mapping)
        except Exception:  # noqa: BLE001
            self.log("#", "transfer failed:\n" + traceback.format_exc())
            if self.mapping is mapping:
                self._fatal_unmap(860)  # D49: a download still gets its ETX first

    async def _finish_transfer(self, mapping):
        services = self._services()
        try:
            urc = await self.in_thread(mapping.transfer.finish)
        except services.ServiceError as exc:
            if self.mapping is mapping:
                self._leave_data_mode(self._service_code(exc))
            return
        if self.mapping is mapping:
            if urc:
                self.urcs.appendleft(urc)
            self._leave_data_mode("OK")

    async def _run_download(self, mapping):
        services = self._services()
        transfer = mapping.transfer
        while True:
            try:
                chunk = await self.in_thread(transfer.read)
            except services.ServiceError as exc:
                if self.mapping is mapping and not mapping.aborted:
                    self.emit(ETX_BYTE)
                    self._leave_data_mode(self._service_code(exc))
                return
            if self.mapping is not mapping or mapping.aborted:
                return
            while self.mapping is mapping and (mapping.detector.holding or (
                    self.link is not None and self.link.pending >= self.link.high_water)):
                await asyncio.sleep(0.005)
            if self.mapping is not mapping or mapping.aborted:
                return
            if not chunk:
                break
            self.emit(escape(chunk))
        self.emit(ETX_BYTE)
        mapping.finished = True
        await self._finish_transfer(mapping)

    async def _run_upload(self, mapping):
        transfer = mapping.transfer
        queue = mapping.upload_queue
        while True:
            item = await queue.get()
            if queue.qsize() < 16 and self.link is not None:
                self.link.resume("upload")
            if self.mapping is not mapping:
                return
            if item == "abort":
                await self.in_thread(self._call_quietly, transfer.abort)
                if self.mapping is mapping:
                    self._leave_data_mode("OK")
                return
            if item is None:
                break
            services = self._services()
            try:
                await self.in_thread(transfer.write, item)
            except services.ServiceError as exc:
                mapping.finished = True
                if self.mapping is mapping:
                    self._leave_data_mode(self._service_code(exc))
                return
        await self._finish_transfer(mapping)

    # ================================================================ +WIPPING
    def cmd_wipping(self, cmd, reply):
        if cmd.form in ("test", "read"):
            return
        f = cmd.fields
        if cmd.form != "set" or not 1 <= len(f) <= 6:
            raise parse.AtSyntaxError("WIPPING form")
        host = f[0]
        values = [number(x) for x in f[1:]]  # D68
        values += [None] * (5 - len(values))
        if not self.stack or not self.bearer_started():
            raise Cme(803)
        if host.text == "":
            raise Cme(800)
        defaults = (1, 2000, 2000, 64, self.cfg[0])
        ranges = ((1, 65535), (1, 65535), (1, 65535), (1, 1500), (0, 255))
        params = []
        for value, default, (low, high) in zip(values, defaults, ranges, strict=True):
            value = default if value is None else value
            if not low <= value <= high:
                raise Cme(801)
            params.append(value)
        address = self.hosts.resolve(host.text)
        if address is None:
            raise Cme(819)  # D70
        if self.ping_running:
            raise Cme(819)
        ping = self._ping_module()
        if ping is None:
            self.log("#", "tools/wipsim/ping.py is missing: ping unavailable")
            raise Cme(819)
        self.ping_running = True
        series = (self.generation, self.ping_series)
        reply.then = lambda: self.executor.submit(self._ping_series, ping, address, params,
                                                  series)

    def _cancel_ping(self):
        self.ping_series += 1
        self.ping_running = False

    def _ping_series(self, ping, address, params, series):
        repeat, interval, timeout, size, ttl = params

        def report(expired, idx, rtt):
            line = f"+WIPPING: {expired},{idx},{0 if expired else rtt}"
            self.loop.call_soon_threadsafe(self._ping_report, series, line)

        def should_lose(_idx):
            return self._take_ping_loss()

        try:
            ping.run_series(address, repeat, interval, timeout, size, ttl, report, should_lose)
        except Exception:  # noqa: BLE001
            self.log("#", "ping failed:\n" + traceback.format_exc())
        finally:
            self.loop.call_soon_threadsafe(self._ping_done, series)

    def _take_ping_loss(self):
        if self.ping_loss > 0:
            self.ping_loss -= 1
            return True
        return False

    def _ping_report(self, series, line):
        if series == (self.generation, self.ping_series):
            self.urc(line)

    def _ping_done(self, series):
        if series == (self.generation, self.ping_series):
            self.ping_running = False

    # ================================================================ faults
    def fault(self, name, args):
        """Fault injection (Appendix A); returns the control reply line."""
        handler = getattr(self, "fault_" + name.replace("-", "_"), None)
        if handler is None:
            return f"ERR unknown fault {name}"
        try:
            return handler(*args) or "OK"
        except (TypeError, ValueError) as exc:
            return f"ERR bad arguments: {exc}"

    def _tcp_for_fault(self, idx):
        chan = self.tcp.get(int(idx))
        if chan is None:
            raise ValueError(f"no TCP client {idx}")
        return chan

    def fault_reset(self, idx):
        chan = self._tcp_for_fault(idx)
        if chan.dead:
            return "ERR socket already dead"
        self.tcp_reset(chan, 843)
        return None

    def fault_timeout(self, idx):
        """The peer of TCP client idx stops answering (D55: 842)."""
        chan = self._tcp_for_fault(idx)
        if chan.dead:
            return "ERR socket already dead"
        self.tcp_reset(chan, 842)
        return None

    def fault_peerclose(self, idx):
        chan = self._tcp_for_fault(idx)
        if chan.dead or chan.peer_fin:
            return "ERR peer already closed"
        chan.stop_reading()
        self.tcp_peer_fin(chan)
        return None

    def fault_bearer_loss(self):
        started = [b for b in self.bearers.values() if b.started]
        if not started:
            return "ERR no bearer started"
        self._bearer_down(started[0])
        return None

    def fault_stack_stop(self):
        """`AT+WIPCFG=0` as if sent on another UART (D16): a mapped UART gets `OK`."""
        if not self.stack:
            return "ERR stack not started"
        self._stop_stack()
        return None

    def fault_close(self, proto, idx):
        """`AT+WIPCLOSE=<proto>,<idx>` as if sent on another UART (D60)."""
        proto, idx = int(proto), int(idx)
        if proto in (1, 2):
            chan = (self.udp if proto == 1 else self.tcp).pop(idx, None)
            if chan is None:
                return f"ERR no socket {proto},{idx}"
            self._unmap_if(chan)
            if proto == 1:
                chan.release()
                return None
            chan.close_gracefully()  # D39
            if chan.reservation is not None:
                chan.reservation.spawned.discard(idx)
            self._reservations_alive()
            self.tcp_tx_level()
            return None
        session = self.session
        if session is None or (session.proto, session.idx) != (proto, idx):
            return f"ERR no socket or session {proto},{idx}"
        self.session = None
        mapping = self.mapping
        if mapping is not None and mapping.kind == "file":
            self._lose_mapping()
        self.executor.submit(self._quiet_close, session)
        if proto == 4:
            self.urc(f"+WIPPEERCLOSE: 4,{idx}")  # D39: FTP close
        return None

    def fault_reboot(self):
        self.reboot()

    def fault_noise(self, count):
        count = int(count)
        if not 0 < count <= 65536:
            raise ValueError("count")
        self.noise(count)

    def fault_split(self, size):
        self.link.split = max(0, int(size))

    def fault_stall(self, ms):
        self.link.stall(int(ms) / 1000.0)

    def fault_bearer_fail(self, code):
        code = int(code)
        if not 807 <= code <= 817:
            raise ValueError("code must be 807..817")
        self.bearer_fail = code

    def fault_ping_loss(self, count):
        self.ping_loss = int(count)

    def fault_fail(self, name, code):
        """The next set form of a command fails with a code (802, 821, 836, 846, 850, ...)."""
        name = "+" + name.upper().lstrip("+")
        if name not in self.handlers:
            raise ValueError(f"unknown command {name}")
        code = int(code)
        if not 3 <= code <= 999:
            raise ValueError("code")
        self.injected[name] = code

    def fault_flash_fail(self):
        self.flash_fail = True

    def fault_internet(self, state):
        if state not in ("on", "off"):
            raise ValueError("on|off")
        self.internet_enabled = state == "on"

    def fault_status(self):
        return json.dumps(self.status(), separators=(",", ":"))

    def status(self):
        mapping = self.mapping
        mode = "at"
        if mapping is not None:
            mode = {"cont": "continuous", "transp": "transparent", "file": "file"}[mapping.kind]
        return {
            "mode": mode,
            "mapped": [mapping.proto, mapping.idx] if mapping else None,
            "stack": self.stack,
            "bearers": {str(b.bid): int(b.started) for b in self.bearers.values()},
            "udp": sorted(self.udp),
            "tcp": {str(i): ("dead" if c.dead else "fin" if c.peer_fin else "open")
                    for i, c in sorted(self.tcp.items())},
            "servers": sorted(self.servers),
            "session": [self.session.proto, self.session.idx] if self.session else None,
            "sockets": self.socket_count(),
            "sock_max": self.sock_max,
            "echo": self.echo,
            "cmee": self.cmee,
            "pid": os.getpid(),
        }
