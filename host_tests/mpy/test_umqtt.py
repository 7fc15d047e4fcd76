# micropython-lib's umqtt.simple, unmodified, over the wip socket shim: publish and subscribe
# through the simulator to a real mosquitto broker on loopback.
# The heap is capped below an RP2040's (about 190 KB free), although this 64-bit build needs
# more than a 32-bit board for the same objects and compiles everything from source (it ran in
# 128 KB when written).
# needs: sim, mosquitto
# mpypath: ../shared/third_party
# heapsize: 160K
# timeout: 60
import os
import sys
import time
from binascii import hexlify

import wip
from mpytest import eq, ok, run

modem = wip.Modem(wip.tcp_stream("127.0.0.1", int(os.getenv("WIPSIM_PORT"))), timeout=10,
                  guard_time=float(os.getenv("WIPSIM_GUARD")))
modem.start()
modem.gprs("internet")
sys.modules["socket"] = modem.socket_module()

import umqtt.simple  # noqa: E402
from umqtt.simple import MQTTClient  # noqa: E402

BROKER = os.getenv("MQTT_HOST")
PORT = int(os.getenv("MQTT_PORT"))


def client(name, received=None):
    c = MQTTClient(name, BROKER, PORT, keepalive=60)
    if received is not None:
        c.set_callback(lambda topic, msg: received.append((topic, msg)))
    eq(c.connect(timeout=10), 0)  # 0: no session present (clean session)
    return c


def wait_for(c, received, count, seconds=10):
    """Poll with check_msg() (non-blocking socket) until `count` messages arrived."""
    deadline = time.ticks_add(time.ticks_ms(), int(seconds * 1000))
    while len(received) < count and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        if c.check_msg() is None:
            time.sleep_ms(10)
    return received


def test_umqtt_uses_the_shim():
    ok(umqtt.simple.socket is sys.modules["socket"])


def test_publish_and_receive_on_one_client():
    received = []
    c = client("wip-one", received)
    c.subscribe(b"wip/one/#", qos=1)
    c.publish(b"wip/one/greeting", b"hello broker", qos=1)
    c.sock.settimeout(10)
    while not received:
        c.wait_msg()
    eq(received, [(b"wip/one/greeting", b"hello broker")])
    c.disconnect()


def test_two_clients_qos0_and_qos1_with_binary_payloads():
    received = []
    sub = client("wip-sub", received)
    sub.subscribe(b"wip/two/+", qos=1)
    pub = client("wip-pub")
    payloads = [b"reading %d" % i for i in range(5)]
    payloads.append(bytes(range(256)) * 6 + b"+++\x10\x03")  # 1.5 KB through the codec
    for i, payload in enumerate(payloads):
        pub.publish(b"wip/two/%d" % i, payload, qos=i % 2)
    wait_for(sub, received, len(payloads))
    eq(sorted(received), sorted((b"wip/two/%d" % i, p) for i, p in enumerate(payloads)))
    pub.disconnect()
    sub.disconnect()


def test_retained_message_reaches_a_later_subscriber():
    pub = client("wip-retain")
    pub.publish(b"wip/retained", b"kept by the broker", retain=True, qos=1)
    pub.disconnect()
    received = []
    sub = client("wip-late", received)
    sub.subscribe(b"wip/retained")
    wait_for(sub, received, 1)
    eq(received, [(b"wip/retained", b"kept by the broker")])
    sub.disconnect()


def test_other_clients_of_the_broker_see_the_message():
    """A CPython subscriber to "#" (the mosquitto provider's observer) receives it too."""
    payload = b"seen by a plain MQTT client \x00\x10\x03+++"
    pub = client("wip-observed")
    pub.publish(b"wip/observed", payload, qos=1)
    pub.disconnect()
    expected = "wip/observed %s" % hexlify(payload).decode()
    deadline = time.ticks_add(time.ticks_ms(), 10000)
    lines = []
    while time.ticks_diff(deadline, time.ticks_ms()) > 0:
        with open(os.getenv("MQTT_SUB_LOG")) as log:
            lines = log.read().splitlines()
        if expected in lines:
            break
        time.sleep_ms(50)
    ok(expected in lines, "observer saw %r" % lines)


run(globals())
