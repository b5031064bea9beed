"""Helpers of the outbox tests: writing business events and reading the topic back."""
import json
import os
import subprocess
import uuid

from conftest import sql


def charge(user, amount):
    key = uuid.uuid4().hex
    sql(f"CALL charge_wallet({user}, {amount}, '{key}', REPEAT('a', 64), 1000000000000)")


def pay(user, seat, schedule=1):
    """Holds `seat` for `user` and confirms it (the wallet must cover the price)."""
    row = sql(f"CALL hold_seat({user}, {schedule}, {seat}, 300000)")[0]
    assert row[0] == "201", row
    reservation = row[2]
    key = uuid.uuid4().hex
    row = sql(f"CALL confirm_reservation({user}, {reservation}, '{key}', REPEAT('b', 64))")[0]
    assert row[0] == "200", row


def write_mixed_events(users=20, charges_per_user=5, payments=10):
    """Charges for `users` users and `payments` confirmed seats; returns the event count."""
    for round_ in range(charges_per_user):
        for user in range(1, users + 1):
            charge(user, 100000 + round_)
    for i in range(payments):
        pay(1 + i % users, seat=1 + i)
    return users * charges_per_user + payments


def read_topic(topic, expected, timeout_s=30):
    """Every message of `topic` (kcat, from the beginning) as dicts with key/headers/value."""
    out = subprocess.run(
        ["kcat", "-C", "-b", os.environ["TICKETING_KAFKA_BROKERS"], "-t", topic, "-o", "beginning",
         "-e", "-q", "-f", "%p\t%o\t%k\t%h\t%s\n"],
        check=True, capture_output=True, text=True, timeout=timeout_s).stdout
    messages = []
    for line in out.splitlines():
        partition, offset, key, headers, value = line.split("\t", 4)
        hdrs = dict(h.split("=", 1) for h in headers.split(",") if h)
        messages.append({"partition": int(partition), "offset": int(offset), "key": key,
                         "headers": hdrs, "value": json.loads(value)})
    messages.sort(key=lambda m: (m["partition"], m["offset"]))
    return messages


def outbox_rows():
    rows = sql("SELECT id, event_id, aggregate_id, event_type, payload, status FROM outbox ORDER BY id")
    return [{"id": int(r[0]), "event_id": r[1], "user": r[2], "type": r[3],
             "payload": json.loads(r[4]) if r[4].startswith("{") else r[4], "status": r[5]}
            for r in rows]


def assert_topic_matches_outbox(messages, allow_duplicates=False):
    """Keys, headers and values as the DB says, and each user's events in outbox id order."""
    rows = [r for r in outbox_rows() if r["status"] == "PUBLISHED"]
    by_event = {r["event_id"]: r for r in rows}
    seen = {}
    for m in messages:
        event_id = m["headers"]["event-id"]
        assert event_id in by_event, f"event {event_id} on the topic but not PUBLISHED in the DB"
        row = by_event[event_id]
        assert m["key"] == row["user"]
        assert m["headers"]["event-type"] == row["type"]
        assert m["value"] == row["payload"]
        seen[event_id] = seen.get(event_id, 0) + 1
    assert set(seen) == set(by_event), "PUBLISHED rows missing from the topic"
    if not allow_duplicates:
        dups = {e: n for e, n in seen.items() if n > 1}
        assert not dups, f"duplicates: {dups}"
    # Per user, first appearances follow outbox id order (one key lives on one partition).
    order = {}
    for m in messages:
        order.setdefault(m["key"], [])
        event_id = m["headers"]["event-id"]
        if event_id not in order[m["key"]]:
            order[m["key"]].append(event_id)
    for user, events in order.items():
        ids = [by_event[e]["id"] for e in events]
        assert ids == sorted(ids), f"user {user} events out of order: {ids}"
    return seen
