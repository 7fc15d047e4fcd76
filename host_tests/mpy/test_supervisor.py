# wip.Supervisor on the MicroPython unix port: the lazy export, bring-up, and recovery from
# a bearer loss, a reboot while idle and a reboot in data mode injected through the
# simulator's control port, with the TCP and UDP echo checked after each recovery. The
# tests run in order (registered with @test): each builds on the previous one's state.
# needs: sim
# heapsize: 512K
# timeout: 90
import os
import time

import wip
from mpytest import eq, ok, run, test
from simlink import control, recv_exact

SIM_PORT = int(os.getenv("WIPSIM_PORT"))
GUARD = float(os.getenv("WIPSIM_GUARD"))
ECHO_TCP = int(os.getenv("ECHO_TCP_PORT"))
ECHO_UDP = int(os.getenv("ECHO_UDP_PORT"))

m = wip.Modem(wip.tcp_stream("127.0.0.1", SIM_PORT), timeout=3, guard_time=GUARD)
events = []
sup = wip.Supervisor(m, "internet", "user", "secret", check_interval=0.3,
                     backoff_initial=0.05, backoff_max=0.4,
                     on_up=lambda s: events.append("up"),
                     on_down=lambda s, reason: events.append(reason))


def exchange(n):
    """One sensor cycle over fresh sockets; retried through recovery until it succeeds."""
    record = bytes((n * 7 + i) & 0xFF for i in range(600)) + b"+++\x10\x03"
    deadline = time.ticks_add(time.ticks_ms(), 30000)
    while time.ticks_diff(deadline, time.ticks_ms()) > 0:
        if not sup.ensure(10):
            continue
        t = u = None
        try:
            t = m.socket(wip.SOCK_STREAM)
            t.settimeout(3)
            t.connect(("127.0.0.1", ECHO_TCP))
            t.sendall(record)
            if recv_exact(t, len(record)) != record:
                raise OSError(5, "integrity")
            u = m.socket(wip.SOCK_DGRAM)
            u.settimeout(3)
            u.connect(("127.0.0.1", ECHO_UDP))
            u.send(record)
            if u.recv(2000) != record:
                raise OSError(5, "integrity")
            return t
        except OSError as exc:
            sup.report_error(exc)
        finally:
            if u is not None:
                u.close()
    raise AssertionError("cycle %d never completed" % n)


@test
def lazy_export():
    ok(wip.Supervisor is wip.supervisor.Supervisor)


@test
def bring_up():
    ok(sup.ensure(10))
    eq(sup.ip, "127.0.0.1")
    eq((sup.generation, sup.recoveries), (1, 0))
    exchange(0).close()


@test
def bearer_loss_is_recovered():
    eq(control("bearer-loss"), "OK")
    sup.report_error()
    exchange(1).close()
    eq((sup.bearer_losses, sup.recoveries), (1, 1))


@test
def reboot_while_idle_is_recovered():
    m.command("AT")
    eq(control("reboot"), "OK")
    time.sleep_ms(100)
    exchange(2).close()
    eq((sup.reboots, sup.recoveries), (1, 2))


@test
def reboot_in_data_mode_is_recovered():
    t = exchange(3)  # still mapped
    eq(control("reboot"), "OK")
    time.sleep_ms(100)
    exchange(4).close()
    t.close()
    eq((sup.reboots, sup.recoveries), (2, 3))
    eq(events.count("up"), 4)


run(globals())
