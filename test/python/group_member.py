"""A librdkafka consumer-group member (confluent-kafka, which bundles a recent librdkafka), for
test/groups.test.ts.

    python3 test/python/group_member.py BOOTSTRAP TOPIC GROUP PROTOCOL N

PROTOCOL is librdkafka's group.protocol: classic or consumer (KIP-848). Subscribes to TOPIC from
the earliest offset with auto commit off; prints one JSON line per assignment change
({"owned": [partitions]}) and per record ({"partition", "offset", "key", "value"}); after N
records (N = -1: when stdin ends) commits synchronously, closes (leaving the group), prints
{"committed": count} and exits 0. Errors: {"error": ...} and exit 1.
"""
import json
import select
import sys
import time

from confluent_kafka import Consumer, KafkaException


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    bootstrap, topic, group, protocol, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": protocol,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    owned = set()

    # Eager (classic) callbacks carry whole assignments, incremental ones (KIP-848) the change;
    # confluent-kafka applies them itself after the callback.
    def on_assign(c, parts):
        owned.update(p.partition for p in parts)
        out({"owned": sorted(owned)})

    def on_revoke(c, parts):
        owned.difference_update(p.partition for p in parts)
        out({"owned": sorted(owned)})

    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    got = 0
    deadline = time.monotonic() + 120
    stdin_open = n < 0
    while (got < n) if n >= 0 else stdin_open:
        if time.monotonic() > deadline:
            raise RuntimeError("timed out with %d records" % got)
        msg = consumer.poll(0.2)
        if msg is not None:
            if msg.error():
                raise KafkaException(msg.error())
            out({"partition": msg.partition(), "offset": msg.offset(),
                 "key": None if msg.key() is None else msg.key().decode(),
                 "value": None if msg.value() is None else msg.value().decode()})
            got += 1
        if n < 0 and select.select([sys.stdin], [], [], 0)[0] and sys.stdin.read(1) == "":
            stdin_open = False
    if got > 0:
        consumer.commit(asynchronous=False)
    consumer.close()
    out({"committed": got})


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # reported to the test, which fails with it
        out({"error": repr(e)})
        sys.exit(1)
