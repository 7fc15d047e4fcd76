"""A tiny test harness for scripts run by the MicroPython unix port (host_tests/test_mpy_suite.py).

Usage in a script `host_tests/mpy/test_<topic>.py`:

    from mpytest import eq, raises, run, test

    def test_something():          # any global function named test_* is run by run(globals())
        eq(1 + 1, 2)

    @test                          # or register explicitly (runs in definition order)
    def round_trip():
        raises(ValueError, int, "x")

    run(globals())

Output protocol, read by the pytest runner: one `PASS name`, `FAIL name: exc` (followed by the
traceback) or `SKIP name: reason` line per test, then `N passed, N failed, N skipped`; the
process exits with status 1 if any test failed. A test may be `async def`: it is run with
asyncio.run(). Raise `Skip("reason")` to skip.
"""

import sys

_registered = []


class Skip(Exception):
    """Raise inside a test to report it as skipped."""


def test(fn):
    """Register fn as a test (decorator)."""
    _registered.append(fn)
    return fn


def eq(actual, expected, msg=None):
    """Fail unless actual == expected."""
    if not actual == expected:
        detail = "%r != %r" % (actual, expected)
        raise AssertionError(detail if msg is None else "%s: %s" % (msg, detail))


def ok(cond, msg="condition is false"):
    """Fail unless cond is true."""
    if not cond:
        raise AssertionError(msg)


def raises(exc, fn, *args, **kwargs):
    """Call fn and fail unless it raises exc; return the exception."""
    try:
        fn(*args, **kwargs)
    except exc as e:
        return e
    raise AssertionError("%s did not raise %s" % (_name(fn), exc.__name__))


def _name(fn):
    return getattr(fn, "__name__", repr(fn))


def _print_exception(e):
    if hasattr(sys, "print_exception"):
        sys.print_exception(e)
    else:
        import traceback

        traceback.print_exception(e)


def _collect(namespace):
    tests = list(_registered)
    if namespace:
        names = sorted(k for k in namespace if k.startswith("test_") and callable(namespace[k]))
        for name in names:
            if namespace[name] not in tests:
                tests.append(namespace[name])
    return tests


def run(namespace=None):
    """Run the registered tests and the test_* functions of namespace; exit 1 on any failure."""
    passed = failed = skipped = 0
    for fn in _collect(namespace):
        name = _name(fn)
        try:
            result = fn()
            if hasattr(result, "send"):
                import asyncio

                asyncio.run(result)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (name, e))
        except Exception as e:
            failed += 1
            print("FAIL %s: %r" % (name, e))
            _print_exception(e)
        else:
            passed += 1
            print("PASS %s" % name)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        sys.exit(1)
