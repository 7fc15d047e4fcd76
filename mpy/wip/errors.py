"""WipError and the errno numbers the driver raises (spec §5, design "Errors").

``WipError(code)`` is an OSError whose ``.code`` is the module's number (``+CME ERROR: n``;
``-1`` stands for a plain ``ERROR``, i.e. a syntax error, D2). ``.errno`` (``args[0]``) is the
closest POSIX errno so code written for ordinary sockets keeps working: 843 is ECONNRESET,
842 EHOSTUNREACH, 838 ENOBUFS, 833 EADDRINUSE, everything else EIO. ``args[1]`` is a short
message (the guide's wording for the common codes; spec §5 has them all).

The errno values are Linux's; MicroPython ports use the same numbers.
"""

# The errno names, served by __getattr__ (RAM: no module dict slot each).
_LAZY = (" EPERM=1 EIO=5 EBADF=9 EAGAIN=11 EINVAL=22 EPIPE=32 EMSGSIZE=90 ENOPROTOOPT=92"
         " EOPNOTSUPP=95 EADDRINUSE=98 ECONNRESET=104 ENOBUFS=105 EISCONN=106 ENOTCONN=107"
         " ETIMEDOUT=110 EHOSTUNREACH=113 EALREADY=114 ERROR_PLAIN=-1 ")


def __getattr__(name):
    i = _LAZY.find(" " + name + "=")
    if i < 0:
        raise AttributeError(name)
    i += len(name) + 2
    return int(_LAZY[i:_LAZY.find(" ", i)])


class WipError(OSError):
    """A module error: ``.code`` is the module's code, ``.errno`` the nearest POSIX errno."""

    def __init__(self, code, message=None):
        # Message and errno tables live here rather than as module globals (RAM); the
        # messages are one string so that no word of them is interned.
        if message is None:
            table = ("\n-1 ERROR (syntax)\n803 not allowed in the current stack state"
                     "\n830 bad index\n831 bad state\n838 no more free socket\n840 already active"
                     "\n842 destination host unreachable\n843 connection reset by peer\n")
            i = table.find("\n" + str(code) + " ") + 1
            text = table[table.find(" ", i) + 1:table.find("\n", i)] if i else "module error"
            message = "WIP error %d: %s" % (code, text)
        # ECONNRESET, EHOSTUNREACH, ENOBUFS, EADDRINUSE, else EIO
        errno = {843: 104, 842: 113, 838: 105, 833: 98}
        super().__init__(errno.get(code, 5), message)
        self.code = code


def timeout_error():
    """OSError(ETIMEDOUT): a deadline passed."""
    return OSError(110, "timed out")  # ETIMEDOUT


def again_error():
    """OSError(EAGAIN): a non-blocking call found nothing to do."""
    return OSError(11, "would block")  # EAGAIN
