"""`make demo`: the example sensor app on the MicroPython unix port, against the simulator.

Starts the WIP module simulator (guard time 0.2 s: the real module's 1 s, scaled down so the
demo is quick), Debian's mosquitto on a loopback port with a CPython subscriber (or, with
--transport http, a loopback HTTP server), then runs boards/unix/main.py on
.venv/bin/micropython for a bounded number of readings. While it runs, the demo injects faults
through the simulator's control port, spread evenly over the run: by default a module reboot
(`reboot`) and then a GPRS bearer loss (`bearer-loss`); the app's wip.Supervisor detects and
repairs each one. Prints what the app sends and what the broker/server received; exits 0 when
every reading arrived (QoS 1 and the app's queue: none may be lost) and the supervisor
counters the app reports (reboots, bearer_losses, recoveries) match the injected faults.

Installs nothing itself (`make demo` runs `make install` first); finishes in well under a
minute. umqtt.simple comes from ../shared/third_party (or $WIP_THIRD_PARTY); without it the
demo uses HTTP (the unix port's frozen `requests`).

`--serve` instead runs, until Ctrl-C, what the README's and docs/api.md's examples expect: the
simulator on 127.0.0.1:7000 (guard time 1 s, as on the real module) with echo.example.com and
www.example.com in its hosts table, a TCP+UDP echo server behind port 7 and a web server
behind port 80 of those names (real ports shifted by the simulator's port offset).
"""

import argparse
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.wipsim.process import SimProcess  # noqa: E402

DEMO_GUARD_TIME = 0.2
EXAMPLE_HOSTS = ("echo.example.com", "www.example.com")
WEB_PAGE = b"<html><body>www.example.com, served on loopback</body></html>"
FAULTS = ("reboot", "bearer-loss", "none")  # control-port faults (spec Appendix A)
DEFAULT_FAULTS = ("reboot", "bearer-loss")
# The supervisor counter each fault must bump (besides recoveries).
FAULT_COUNTERS = {"reboot": "reboots", "bearer-loss": "bearer_losses"}


def third_party_dir():
    path = Path(os.environ.get("WIP_THIRD_PARTY", ROOT.parent / "shared" / "third_party"))
    return path if (path / "umqtt" / "simple.py").is_file() else None


def micropython_binary():
    found = shutil.which("micropython", path=f"{Path(sys.executable).parent}{os.pathsep}"
                        f"{os.environ.get('PATH', '')}")
    if not found:
        raise SystemExit("micropython not found: run `make install`")
    return found


def start_simulator(guard_time, log_path, port=0, extra=()):
    """`python -m tools.wipsim` on loopback TCP with a control port."""
    return SimProcess(["--tcp", f"127.0.0.1:{port}", "--control", "127.0.0.1:0",
                       "--guard-time", str(guard_time), "--log", str(log_path), *extra],
                      log_path)


class _WebHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(WEB_PAGE)))
        self.end_headers()
        self.wfile.write(WEB_PAGE)

    def log_message(self, *args):
        pass


class ExamplePeers:
    """What the docs' examples talk to: a TCP+UDP echo server on offset+7 and a web server
    on offset+80, on 127.0.0.1 (the simulator shifts AT ports below 1024 by the offset)."""

    def __init__(self, offset):
        self.offset = offset
        self.tcp = socket.create_server(("127.0.0.1", offset + 7))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.udp.bind(("127.0.0.1", offset + 7))
            self.web = http.server.ThreadingHTTPServer(("127.0.0.1", offset + 80),
                                                       _WebHandler)
        except OSError:
            self.tcp.close()
            self.udp.close()
            raise
        self.web.daemon_threads = True
        for target in (self._accept, self._udp_echo, self.web.serve_forever):
            threading.Thread(target=target, daemon=True).start()

    @classmethod
    def start(cls, attempts=10):
        """Peers at a random free offset (20000-40000 in steps of 1024)."""
        for _ in range(attempts):
            try:
                return cls(random.randrange(20000, 40000, 1024))
            except OSError:
                continue
        raise RuntimeError("no free port offset for the example peers")

    @staticmethod
    def host_args():
        """The simulator's hosts-table options for the example names."""
        return [arg for name in EXAMPLE_HOSTS for arg in ("--host", f"{name}=127.0.0.1")]

    def _accept(self):
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def _udp_echo(self):
        while True:
            try:
                data, addr = self.udp.recvfrom(8192)
                self.udp.sendto(data, addr)
            except OSError:
                return

    def close(self):
        self.web.shutdown()
        self.web.server_close()
        self.tcp.close()
        self.udp.close()


def serve(port):
    """--serve: the simulator and example peers until Ctrl-C."""
    peers = ExamplePeers.start()
    workdir = Path(tempfile.mkdtemp(prefix="wip-serve-"))
    sim = start_simulator(1.0, workdir / "wipsim.log", port=port,
                    extra=["--port-offset", str(peers.offset), *peers.host_args()])
    print(f"simulator UART on 127.0.0.1:{sim.port}, control port {sim.control_port}, "
          f"guard time 1.0 s; {', '.join(EXAMPLE_HOSTS)} -> loopback echo (7) and web (80) "
          f"servers. Ctrl-C stops.", flush=True)
    try:
        sim.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        peers.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def inject(sim, fault):
    """Ask the simulator for `fault`; return its reply."""
    return sim.control(fault)


def fault_thresholds(cycles, faults):
    """Received-reading counts at which each fault is injected: spread evenly over the run."""
    return [(i + 1) * cycles // (len(faults) + 1) for i in range(len(faults))]


def run_app(env, cycles, faults, sim, received, deadline_s):
    """Run boards/unix/main.py, echoing its output; inject `faults` one by one as readings
    arrive (see fault_thresholds). Returns (exit status, app output lines, faults injected)."""
    mp_path = [ROOT / "boards" / "unix", ROOT / "boards" / "common", ROOT / "mpy"]
    if env.get("WIP_THIRD_PARTY"):
        mp_path.append(Path(env["WIP_THIRD_PARTY"]))
    mp_path.append(".frozen")  # the unix port's frozen requests
    env = {**os.environ, **env, "MICROPYPATH": os.pathsep.join(map(str, mp_path)),
           "WIP_CYCLES": str(cycles)}
    proc = subprocess.Popen([micropython_binary(), str(ROOT / "boards" / "unix" / "main.py")],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    start = time.monotonic()

    def echo():
        for line in proc.stdout:
            lines.append(line)
            print(f"app    | {time.monotonic() - start:5.1f}s {line.rstrip()}", flush=True)

    reader = threading.Thread(target=echo, daemon=True)
    reader.start()
    deadline = time.monotonic() + deadline_s
    plan = list(zip(fault_thresholds(cycles, faults), faults, strict=True))
    injected = []
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if plan and len(received()) >= plan[0][0]:
                _, fault = plan.pop(0)
                reply = inject(sim, fault)
                print(f"demo   | {time.monotonic() - start:5.1f}s injected fault {fault}: "
                      f"{reply}", flush=True)
                if reply.startswith("OK"):
                    injected.append(fault)
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            print("demo   | the app did not finish in time; stopping it", flush=True)
            proc.kill()
        proc.wait(5)
    reader.join(5)
    return proc.returncode, lines, injected


def parse_summary(lines):
    """The app's "SUMMARY sent=6 of 6 recoveries=2 ..." line as a dict of ints, or None."""
    for line in lines:
        if line.startswith("SUMMARY "):
            words = line.split()
            summary = {"sent": int(words[1].split("=")[1]), "readings": int(words[3])}
            summary.update((key, int(value)) for key, value in
                           (word.split("=", 1) for word in words[4:]))
            return summary
    return None


def counter_mismatches(summary, injected):
    """Where the supervisor counters the app reported differ from the injected faults."""
    if summary is None:
        return ["no SUMMARY line from the app"]
    expected = {"recoveries": len(injected)}
    for fault, counter in FAULT_COUNTERS.items():
        expected[counter] = injected.count(fault)
    return [f"{key}={summary.get(key)} (expected {value})" for key, value in expected.items()
            if summary.get(key) != value]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=8, help="readings to send")
    parser.add_argument("--period", type=float, default=0.5, help="seconds between readings")
    parser.add_argument("--transport", choices=("mqtt", "http", "auto"), default="auto")
    parser.add_argument("--fault", choices=FAULTS, action="append", dest="faults",
                        help="a fault to inject, in order; repeatable (default: "
                        f"{' then '.join(DEFAULT_FAULTS)}); 'none' injects nothing")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="the app's socket/command timeout in seconds")
    parser.add_argument("--deadline", type=float, default=45.0, help="seconds for the app")
    parser.add_argument("--serve", action="store_true",
                        help="only run the simulator and the docs' example peers")
    parser.add_argument("--port", type=int, default=7000, help="UART port for --serve")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the simulator, broker and app are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.serve:
        return serve(args.port)

    faults = [f for f in (args.faults or DEFAULT_FAULTS) if f != "none"]
    third_party = third_party_dir()
    transport = args.transport
    if transport == "auto":
        transport = "mqtt" if third_party else "http"
        if not third_party:
            print("demo   | umqtt not found (../shared/third_party); publishing over HTTP")
    if transport == "mqtt" and not third_party:
        raise SystemExit("umqtt.simple not found: set WIP_THIRD_PARTY")

    workdir = Path(tempfile.mkdtemp(prefix="wip-demo-"))
    stops = []
    try:
        sim = start_simulator(DEMO_GUARD_TIME, workdir / "wipsim.log")
        stops.append(sim.stop)
        print(f"demo   | simulator on 127.0.0.1:{sim.port} (guard time {DEMO_GUARD_TIME} s)")
        env = {"WIP_SIM_PORT": str(sim.port), "WIP_GUARD_TIME": str(DEMO_GUARD_TIME),
               "WIP_TRANSPORT": transport, "WIP_PERIOD": str(args.period),
               "WIP_TIMEOUT": str(args.timeout)}
        if transport == "mqtt":
            from host_tests.mpy_needs.mosquitto import MqttSubscriber, start_mosquitto

            broker = start_mosquitto()
            stops.append(broker.remove)
            topic = "wip/demo/temperature"
            subscriber = MqttSubscriber(broker.port, topic, client_id="wip-demo-sub")
            stops.append(subscriber.close)
            print(f"demo   | mosquitto on 127.0.0.1:{broker.port}, subscribed to {topic}")
            env.update(MQTT_PORT=str(broker.port), MQTT_TOPIC=topic,
                       WIP_THIRD_PARTY=str(third_party))

            def received():
                return [payload for _, payload in subscriber.messages]
        else:
            from host_tests.mpy_needs.httpd import start_httpd

            server = start_httpd()
            stops.append(server.stop)
            print(f"demo   | HTTP server on 127.0.0.1:{server.port}")
            env.update(HTTP_URL=server.url("/readings"))

            def received():
                return [r.body for r in list(server.requests)
                        if r.method == "POST" and r.path == "/readings"]

        status, lines, injected = run_app(env, args.cycles, faults, sim, received,
                                          args.deadline)
        time.sleep(0.3)  # the last QoS 1 delivery to the subscriber
        got = received()
        for payload in got:
            print("server | received", payload.decode(errors="replace"))
        sent = [json.loads(line.split(" ", 1)[1]) for line in lines if line.startswith("sent ")]
        got_seqs = {json.loads(payload)["seq"] for payload in got}
        missing = [reading["seq"] for reading in sent if reading["seq"] not in got_seqs]
        summary = parse_summary(lines)
        mismatches = counter_mismatches(summary, injected)
        not_injected = faults[len(injected):]
        ok = (status == 0 and len(sent) == args.cycles and not missing and not mismatches
              and not not_injected)
        print(f"demo   | injected {injected or 'no faults'}"
              + (f", NOT injected {not_injected}" if not_injected else "")
              + "; supervisor counters "
              + (f"do not match: {', '.join(mismatches)}" if mismatches else "match"))
        print(f"demo   | app sent {len(sent)}/{args.cycles}, server received "
              f"{len(got_seqs)} distinct readings, missing {missing}: "
              f"{'OK' if ok else 'FAILED'}")
        return 0 if ok else 1
    finally:
        for stop in reversed(stops):
            stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
