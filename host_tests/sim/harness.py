"""Plain helpers shared by the simulator suite: AT clients after the spec's preludes and
harness peers on the real ports behind AT-visible ones (imported by name, not via conftest)."""

import socket

from atclient import ATClient

GUARD = 0.05  # the guard time the shared sim_factory starts the simulator with


def open_client(sim):
    """An ATClient on a SimProcess (TCP port or pty)."""
    if sim.port is not None:
        return ATClient.tcp(sim.port)
    return ATClient.pty(sim.pty)


def prelude(client, bearer=6):
    """P0 and PG (or PS for bearer 5) of spec §6.0."""
    client.drain(0.05)
    client.ok("ATE0")
    client.ok("AT+CMEE=1")
    client.ok("AT+WIPCFG=1")
    client.ok(f"AT+WIPBR=1,{bearer}")
    if bearer == 6:
        client.ok('AT+WIPBR=2,6,11,"APN name"')
    else:
        client.ok('AT+WIPBR=2,5,2,"Phone number"')
    client.ok(f'AT+WIPBR=2,{bearer},0,"user name"')
    client.ok(f'AT+WIPBR=2,{bearer},1,"passwd"')
    client.ok(f"AT+WIPBR=4,{bearer},0")
    client.urcs.clear()


def listener(sim, at_port):
    """A harness TCP listener on the real port behind an AT-visible port."""
    srv = socket.create_server(("127.0.0.1", sim.real_port(at_port)))
    srv.settimeout(5)
    return srv


def udp_peer(sim, at_port):
    """A harness UDP socket on the real port behind an AT-visible port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", sim.real_port(at_port)))
    s.settimeout(5)
    return s


def recv_exactly(sock, count, timeout=5.0):
    """Read exactly `count` bytes from a harness TCP socket."""
    sock.settimeout(timeout)
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)
