"""Loopback-only name resolution (D72) and the low-port offset."""

import ipaddress

# D72 / spec §6.0: every name and address the guide's examples use reaches the loopback.
GUIDE_HOSTS = (
    "localhost", "www.wavecom.com", "ftp.wavecom.com", "ip addr", "ftp server", "pop3 server",
    "www.siteaddress.com", "proxyaddress", "smtp.mail.yahoo.fr", "pop.mail.server.com",
    "192.168.0.1", "192.168.0.2", "192.168.0.4", "192.168.1.2", "192.168.1.4", "198.168.0.1",
    "1.1.1.1", "2.2.2.2",
)


def is_loopback(address):
    """True for a dotted quad in 127.0.0.0/8."""
    try:
        return ipaddress.IPv4Address(address) in ipaddress.IPv4Network("127.0.0.0/8")
    except ValueError:
        return False


def is_dotted_quad(text):
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


class HostsTable:
    """Names (case-insensitive, spaces allowed) to loopback addresses."""

    def __init__(self, extra=None):
        self.names = {name: "127.0.0.1" for name in GUIDE_HOSTS}
        for name, address in (extra or {}).items():
            if not is_loopback(address):
                raise ValueError(f"host {name!r}: {address} is not in 127.0.0.0/8")
            self.names[self._key(name)] = address

    @staticmethod
    def _key(name):
        return " ".join(name.split()).lower()

    def resolve(self, name):
        """The loopback address for a name or dotted quad, or None if refused (D72)."""
        key = self._key(name)
        if key in self.names:
            return self.names[key]
        if is_loopback(key):
            return str(ipaddress.IPv4Address(key))
        return None


class PortMap:
    """AT-visible ports below 1024 are really port + offset (D72)."""

    def __init__(self, offset=0):
        self.offset = offset

    def real(self, port):
        return port + self.offset if self.offset and 0 < port < 1024 else port

    def visible(self, port):
        if self.offset and self.offset < port < self.offset + 1024:
            return port - self.offset
        return port
