"""The scripts in this folder run on the MicroPython unix port, not under CPython's pytest.

test_mpy_suite.py runs each of them with the `micropython` binary; here they are only kept
from being collected as CPython test modules.
"""

collect_ignore_glob = ["*.py"]
