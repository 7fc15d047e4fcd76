"""Fixtures for the simulator conformance suite: AT clients on a fresh simulator."""

import pytest
from harness import open_client, prelude


@pytest.fixture
def at(sim):
    """A client on a fresh TCP simulator after P0 (echo off, CMEE=1)."""
    client = open_client(sim)
    client.drain(0.05)
    client.ok("ATE0")
    client.ok("AT+CMEE=1")
    yield client
    client.close()


@pytest.fixture
def gprs(sim):
    """A client on a fresh TCP simulator after P0 and PG."""
    client = open_client(sim)
    prelude(client)
    yield client
    client.close()


@pytest.fixture(params=["tcp", "pty"])
def any_transport(request, sim_factory):
    """A fresh simulator on each transport, with a client after P0 and PG."""
    sim = sim_factory(transport=request.param)
    client = open_client(sim)
    prelude(client)
    yield sim, client
    client.close()
