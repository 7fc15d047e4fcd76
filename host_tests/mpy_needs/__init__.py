"""Providers for the `# needs: <name>` header of host_tests/mpy/test_*.py scripts.

Each module `<name>.py` here defines `provide(request) -> dict[str, str]`: it starts what the
script needs (it may use `request.getfixturevalue(...)`, so fixtures clean up at teardown)
and returns the environment variables the script reads. The script's parsed header (every
`# key: value` line of its leading comment block, as a dict of strings) is available as
`request.node.mpy_header`, for providers that take options (e.g. `# sim-args:`).
A variable whose name ends in `_LOG` and names a file is shown when the script fails.
"""
