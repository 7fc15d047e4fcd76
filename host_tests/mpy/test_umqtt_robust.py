# micropython-lib's umqtt.robust, unmodified, over the wip socket shim: when the network
# resets the broker connection (the simulator's `reset <idx>` fault), robust's own retry
# loop reconnects through the shim and later messages are delivered.
# (Not tested: a QoS 1 publish whose PUBACK wait meets the reset. robust's wait_msg then
# reconnects and waits for a PUBACK that never comes; that is umqtt.robust's behaviour on
# any socket, not the shim's.)
# needs: sim, mosquitto
# mpypath: ../shared/third_party
# timeout: 60
import os
import sys
import time
from binascii import hexlify

import wip
from mpytest import eq, ok, run
from simlink import control  # before the shim replaces sys.modules["socket"]

modem = wip.Modem(wip.tcp_stream("127.0.0.1", int(os.getenv("WIPSIM_PORT"))), timeout=10,
                  guard_time=float(os.getenv("WIPSIM_GUARD")))
modem.start()
modem.gprs("internet")
sys.modules["socket"] = modem.socket_module()

from umqtt import robust  # noqa: E402

robust.MQTTClient.DELAY = 0.2  # seconds between reconnect attempts


def observed(topic, payload, seconds=10):
    """True once the broker's CPython observer logged `payload` on `topic`."""
    expected = "%s %s" % (topic, hexlify(payload).decode())
    deadline = time.ticks_add(time.ticks_ms(), int(seconds * 1000))
    while time.ticks_diff(deadline, time.ticks_ms()) > 0:
        with open(os.getenv("MQTT_SUB_LOG")) as log:
            if expected in log.read().splitlines():
                return True
        time.sleep_ms(50)
    return False


def test_reconnects_after_a_connection_reset():
    """check_msg() (a subscriber's poll) meets the reset (in-band 843), robust reconnects
    through the shim, and the next QoS 1 publish is delivered."""
    c = robust.MQTTClient("wip-robust", os.getenv("MQTT_HOST"), int(os.getenv("MQTT_PORT")))
    c.set_callback(lambda topic, msg: None)
    eq(c.connect(timeout=10), 0)
    c.publish(b"wip/robust", b"before the reset", qos=1)
    ok(observed("wip/robust", b"before the reset"))
    old = c.sock
    eq(control("reset %d" % old.idx), "OK")
    deadline = time.ticks_add(time.ticks_ms(), 5000)
    while c.sock is old and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        eq(c.check_msg(), None)  # a subscriber's idle poll
        time.sleep_ms(20)
    ok(c.sock is not old, "robust reconnected with a new socket")
    c.sock.settimeout(10)
    c.publish(b"wip/robust", b"after the reset", qos=1)
    ok(observed("wip/robust", b"after the reset"))
    c.disconnect()


run(globals())
