"""Type stubs for wip._debug: the Modem's debug transcript (private)."""
