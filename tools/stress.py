"""`make stress`: run tests while busy processes take every core (CPU starvation).

    python tools/stress.py [--hogs N] -- <command ...>

Starts N processes that spin (default: twice the number of cores), runs the command, stops
them and exits with the command's status. Timing windows that a quiet machine never opens
show up here: the driver thread or the simulator getting the CPU back late, around the
"+++" escape above all (see RELIABILITY.md, "The host thread loses the CPU around the
escape", found this way).
"""

import argparse
import multiprocessing
import os
import subprocess
import sys


def spin():
    while True:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    hogs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.hogs)]
    for hog in hogs:
        hog.start()
    try:
        return subprocess.call(command)
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.join(5)


if __name__ == "__main__":
    sys.exit(main())
