"""A librdkafka transactional producer (confluent-kafka), for test/compat/transactions.test.ts.

    python3 test/python/txn_producer.py BOOTSTRAP TOPIC TRANSACTIONS

Runs TRANSACTIONS transactions of 5 records each ("py-T-R", keys "kR"), committing the even ones
and aborting the odd ones once their records are delivered, and prints {"committed": [values], "aborted": [values]}. Errors:
{"error": ...} and exit 1.
"""
import json
import sys

from confluent_kafka import Producer


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "py-" + topic})
    p.init_transactions(30)
    committed, aborted = [], []
    for t in range(n):
        p.begin_transaction()
        values = ["py-%d-%d" % (t, r) for r in range(5)]
        for r, v in enumerate(values):
            p.produce(topic, key="k%d" % r, value=v)
        if t % 2 == 0:
            p.commit_transaction(30)
            committed += values
        else:
            # Delivered first, so the aborted records are in the log (abort_transaction would
            # purge what is still queued) and the abort marker has something to hide.
            p.flush(30)
            p.abort_transaction(30)
            aborted += values
    sys.stdout.write(json.dumps({"committed": committed, "aborted": aborted}) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - reported to the test as one line
        sys.stdout.write(json.dumps({"error": str(e)}) + "\n")
        sys.exit(1)
