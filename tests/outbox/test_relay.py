"""The relay and consumer against the real MariaDB and Kafka of the stack (see conftest.py)."""
import os
import signal
import subprocess
import time

from conftest import REPO, pending_count, sql, wait_until
from outbox_lib import (assert_topic_matches_outbox, charge, read_topic, write_mixed_events,
                        outbox_rows)


def expected_projection():
    sales = sql("SELECT r.schedule_id, COUNT(*), SUM(p.amount) FROM payments p"
                " JOIN reservations r ON r.id = p.reservation_id GROUP BY r.schedule_id"
                " ORDER BY r.schedule_id")
    activity = sql("SELECT user_id, SUM(entry_type = 'CHARGE'), SUM(IF(entry_type = 'CHARGE', amount, 0)),"
                   " SUM(entry_type = 'PAYMENT'), -SUM(IF(entry_type = 'PAYMENT', amount, 0)), COUNT(*)"
                   " FROM wallet_ledger GROUP BY user_id ORDER BY user_id")
    return sales, activity


def actual_projection():
    sales = sql("SELECT schedule_id, tickets_sold, revenue FROM sales_projection ORDER BY schedule_id")
    activity = sql("SELECT user_id, charges, charged_amount, payments, paid_amount, events"
                   " FROM wallet_activity ORDER BY user_id")
    return sales, activity


def test_every_committed_event_is_on_the_topic_as_the_db_says(stack):
    count = write_mixed_events()
    relay = stack.relay()
    wait_until(lambda: pending_count() == 0, 30, "the backlog to drain")
    assert relay.stop() == 0  # SIGTERM: graceful
    messages = read_topic(stack.topic, count)
    assert len(messages) == count
    assert_topic_matches_outbox(messages)
    # The ledger and payments agree with the events that were published.
    types = [m["headers"]["event-type"] for m in messages]
    assert types.count("PaymentCompleted") == int(sql("SELECT COUNT(*) FROM payments")[0][0])
    assert types.count("WalletCharged") == int(
        sql("SELECT COUNT(*) FROM wallet_ledger WHERE entry_type = 'CHARGE'")[0][0])


def test_two_relays_publish_no_duplicates_and_keep_per_user_order(stack):
    count = write_mixed_events(users=50, charges_per_user=40, payments=0)
    relays = [stack.relay(TICKETING_RELAY_BATCH_SIZE=100), stack.relay(TICKETING_RELAY_BATCH_SIZE=100)]
    wait_until(lambda: pending_count() == 0, 60, "the backlog to drain")
    for relay in relays:
        assert relay.stop() == 0
    messages = read_topic(stack.topic, count)
    assert len(messages) == count
    assert_topic_matches_outbox(messages)


def test_broker_outage_grows_the_backlog_and_it_drains_after(stack):
    write_mixed_events(users=5, charges_per_user=2, payments=0)
    relay = stack.relay(TICKETING_RELAY_DELIVERY_TIMEOUT_MS=3000, TICKETING_RELAY_RETRY_MAX_MS=1000)
    wait_until(lambda: pending_count() == 0, 30, "the first events to publish")
    # Stop the stack's broker (the pid its scripts/stack recorded), write, bring it back.
    pid_file = os.path.join(os.environ["TICKETING_STACK_DIR"], "run", "kafka.pid")
    kafka_pid = int(open(pid_file).read().strip())
    os.kill(kafka_pid, signal.SIGTERM)
    wait_until(lambda: not os.path.exists(f"/proc/{kafka_pid}"), 90, "the broker to stop")
    for user in range(1, 6):
        charge(user, 777)
    time.sleep(4)  # longer than the delivery timeout: the relay tried and failed meanwhile
    assert pending_count() == 5
    assert relay.p.poll() is None
    subprocess.run([os.path.join(REPO, "scripts/stack"), "restart", "kafka"], check=True,
                   capture_output=True)
    wait_until(lambda: pending_count() == 0, 120, "the backlog to drain after the broker returned")
    assert relay.stop() == 0
    assert sql("SELECT COUNT(*) FROM outbox WHERE status = 'QUARANTINED'")[0][0] == "0"
    messages = read_topic(stack.topic, 15)
    assert_topic_matches_outbox(messages, allow_duplicates=True)


def test_kill_9_mid_batch_loses_nothing_and_the_projection_is_exact(stack):
    write_mixed_events(users=30, charges_per_user=30, payments=40)
    relay = stack.relay(TICKETING_RELAY_BATCH_SIZE=50)
    wait_until(lambda: pending_count() < 700, 30, "the relay to be mid-backlog")
    relay.stop(signal.SIGKILL)
    before = pending_count()
    assert before > 0
    relay = stack.relay(TICKETING_RELAY_BATCH_SIZE=50)
    wait_until(lambda: pending_count() == 0, 60, "the backlog to drain after the restart")
    assert relay.stop() == 0
    messages = read_topic(stack.topic, 0)
    seen = assert_topic_matches_outbox(messages, allow_duplicates=True)
    # Duplicates only from the batch in flight at the kill.
    assert sum(n - 1 for n in seen.values()) <= 50
    consumer = stack.consumer()
    expected = expected_projection()
    wait_until(lambda: actual_projection() == expected, 60, "the projection to catch up")
    assert int(sql("SELECT COUNT(*) FROM processed_events")[0][0]) == len(seen)
    assert consumer.stop() == 0


def test_consumer_redelivery_is_deduplicated(stack):
    write_mixed_events(users=10, charges_per_user=3, payments=5)
    relay = stack.relay()
    wait_until(lambda: pending_count() == 0, 30, "the backlog to drain")
    # Publish everything a second time (as after a crash between ack and mark).
    sql("UPDATE outbox SET status = 'PENDING', published_at = NULL")
    wait_until(lambda: pending_count() == 0, 30, "the re-publish")
    relay.stop()
    consumer = stack.consumer()
    expected = expected_projection()
    wait_until(lambda: actual_projection() == expected, 60, "the projection")
    assert consumer.stop() == 0


def test_poison_row_is_quarantined_while_the_rest_flow(stack):
    charge(1, 10)
    sql("INSERT INTO outbox (event_id, aggregate_id, event_type, payload, created_at)"
        " VALUES (UUID(), 1, 'WalletCharged', 'not json', UTC_TIMESTAMP(3))")
    charge(1, 20)  # behind the poison row: waits, then flows once it is quarantined
    charge(2, 30)
    relay = stack.relay(TICKETING_RELAY_MAX_ATTEMPTS=3, TICKETING_RELAY_RETRY_BASE_MS=100)
    wait_until(lambda: pending_count() == 0, 30, "every row to settle")
    assert relay.stop() == 0
    rows = outbox_rows()
    statuses = [r["status"] for r in rows]
    assert statuses == ["PUBLISHED", "QUARANTINED", "PUBLISHED", "PUBLISHED"]
    assert sql("SELECT attempts FROM outbox WHERE status = 'QUARANTINED'")[0][0] == "3"
    messages = read_topic(stack.topic, 3)
    assert len(messages) == 3
    assert_topic_matches_outbox(messages)
    log = open(relay.log_path).read()
    assert "outbox row quarantined" in log
