"""Quick checks that the simulator starts through its CLI and answers."""


def test_at_ok(at):
    assert at.cmd("AT") == ([], "OK")
