"""`# needs: sim`: a simulator (tools.wipsim via the shared `sim_factory` fixture).

Header options: `# sim-args: <extra CLI arguments>` (split on whitespace) and
`# sim-guard: <seconds>` (default 0.05). Environment: WIPSIM_PORT (its TCP UART),
WIPSIM_CONTROL_PORT, WIPSIM_GUARD (the guard time in seconds, for the driver's guard_time),
WIPSIM_PORT_OFFSET (AT ports < 1024 map to port + offset on 127.0.0.1), WIPSIM_LOG.
"""

DEFAULT_GUARD = 0.05


def provide(request):
    header = getattr(request.node, "mpy_header", {})
    guard = float(header.get("sim-guard", DEFAULT_GUARD))
    extra = header.get("sim-args", "").split()
    sim = request.getfixturevalue("sim_factory")(*extra, guard_time=guard)
    return {
        "WIPSIM_PORT": str(sim.port),
        "WIPSIM_CONTROL_PORT": str(sim.control_port),
        "WIPSIM_GUARD": repr(guard),
        "WIPSIM_PORT_OFFSET": str(sim.port_offset),
        "WIPSIM_LOG": str(sim.log_path),
    }
