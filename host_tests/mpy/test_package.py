# The package on the unix port: `import wip` loads the core only, and every other part
# arrives on first use: by attribute (wip.http, wip.Supervisor), by `from wip import <module>`
# (which MicroPython routes through the package's __getattr__), and by the Modem's and the
# Socket's methods that live in other modules.
import sys

import wip
from mpytest import eq, ok, run


def loaded():
    return sorted(k for k in sys.modules if k == "wip" or k.startswith("wip."))


AFTER_IMPORT = loaded()
CORE = ["wip", "wip._codec_viper", "wip.codec", "wip.errors", "wip.modem", "wip.parser"]


def test_import_wip_loads_the_core_only():
    eq(AFTER_IMPORT, CORE)


def test_from_wip_import_a_submodule_not_loaded_yet():
    from wip import socket, streams

    ok(callable(streams.tcp_stream))
    eq(socket.Socket.__name__, "Socket")
    ok("wip.streams" in sys.modules and "wip.socket" in sys.modules)


def test_lazy_names_and_unknown_names():
    ok(wip.http.request is not None)
    eq(wip.Supervisor.__name__, "Supervisor")
    ok(not hasattr(wip, "no_such_part"))

    try:
        from wip import no_such_part  # noqa: F401
    except (ImportError, AttributeError):
        pass
    else:
        raise AssertionError("from wip import no_such_part did not fail")


class Silent:
    """A stream that never has input and takes every write."""

    def readinto(self, buf):
        return None

    def write(self, buf):
        return len(buf)


def test_methods_kept_elsewhere_resolve_and_unknown_ones_do_not():
    m = wip.Modem(Silent())  # looking methods up sends nothing
    for name in ("start", "gprs", "stop", "config", "wait_for", "ftp", "ping"):
        ok(callable(getattr(m, name)), name)
    ok(not hasattr(m, "no_such_method"))
    s = m.socket()
    for name in ("connect", "bind", "accept", "readline", "sendto", "setblocking"):
        ok(callable(getattr(s, name)), name)
    ok(not hasattr(s, "no_such_method"))


run(globals())
