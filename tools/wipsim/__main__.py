"""Command line: `python -m tools.wipsim --tcp 127.0.0.1:0 --control 127.0.0.1:0 ...`."""

import argparse
import signal
import sys
import threading

from .hosts import is_loopback
from .sim import Simulator


def address(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def host_entry(text):
    name, sep, addr = text.partition("=")
    if not sep or not name.strip() or not is_loopback(addr.strip()):
        raise argparse.ArgumentTypeError(f"expected NAME=127.x.y.z, got {text!r}")
    return name.strip(), addr.strip()


def build_parser():
    p = argparse.ArgumentParser(prog="python -m tools.wipsim",
                                description="Wavecom WIP Soft v5.01 module simulator")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=address, metavar="HOST:PORT",
                       help="serve the UART on a TCP port (0 = pick one)")
    where.add_argument("--pty", action="store_true", help="serve the UART on a pty")
    p.add_argument("--control", type=address, metavar="HOST:PORT",
                   help="fault-injection port (0 = pick one)")
    p.add_argument("--baud", type=int, default=0, help="pace output at N baud (0 = unpaced)")
    p.add_argument("--guard-time", type=float, default=1.0, help="+++ guard time G in seconds")
    p.add_argument("--host", type=host_entry, action="append", default=[],
                   metavar="NAME=127.0.0.1", help="add a hosts-table entry (repeatable)")
    p.add_argument("--sock-max", type=int, default=20, help="initial SOCKET_MAX (1..23)")
    p.add_argument("--log", metavar="FILE", help="transcript of both directions")
    p.add_argument("--port-offset", type=int, default=0,
                   help="AT-visible ports below 1024 are really port+N")
    p.add_argument("--connect-timeout", type=float, default=10.0,
                   help="TCP connect / greeting timeout in seconds (842 when it expires)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if not 1 <= args.sock_max <= 23:
        sys.exit("--sock-max must be 1..23")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sim = Simulator(guard_time=args.guard_time, port_offset=args.port_offset,
                    hosts=dict(args.host), sock_max=args.sock_max, baud=args.baud,
                    connect_timeout=args.connect_timeout, log=args.log)
    try:
        if args.control:
            port = sim.start_control(*args.control)
            print(f"WIPSIM CONTROL {args.control[0]}:{port}", flush=True)
        if args.pty:
            print(f"WIPSIM READY pty {sim.start_pty()}", flush=True)
        else:
            port = sim.start_tcp(*args.tcp)
            print(f"WIPSIM READY tcp {args.tcp[0]}:{port}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
