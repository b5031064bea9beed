-- The outbox relay's retry schedule and retention index, and the payment-events consumer's
-- tables: its durable dedupe set and the two projections it maintains. MariaDB 10.11 and MySQL 8.0.

-- A row that failed to publish waits until this instant before the relay claims it again;
-- NULL means "now". Later rows of the same user wait behind it (per-key order).
ALTER TABLE outbox ADD COLUMN next_attempt_at DATETIME(3) NULL;

-- Every event the consumer applied, written in the same transaction as the projection change,
-- so a redelivered event (at-least-once) is recognised and skipped.
CREATE TABLE processed_events (
  event_id     CHAR(36)     NOT NULL PRIMARY KEY,
  event_type   VARCHAR(32)  NOT NULL,
  user_id      BIGINT       NOT NULL,
  topic_partition INT       NOT NULL,
  topic_offset BIGINT       NOT NULL,
  processed_at DATETIME(3)  NOT NULL
) ENGINE=InnoDB;

-- Sales per schedule from PaymentCompleted events.
CREATE TABLE sales_projection (
  schedule_id  BIGINT       NOT NULL PRIMARY KEY,
  tickets_sold BIGINT       NOT NULL DEFAULT 0,
  revenue      BIGINT       NOT NULL DEFAULT 0,
  updated_at   DATETIME(3)  NOT NULL
) ENGINE=InnoDB;

-- Wallet activity per user from WalletCharged and PaymentCompleted events.
CREATE TABLE wallet_activity (
  user_id        BIGINT      NOT NULL PRIMARY KEY,
  charges        BIGINT      NOT NULL DEFAULT 0,
  charged_amount BIGINT      NOT NULL DEFAULT 0,
  payments       BIGINT      NOT NULL DEFAULT 0,
  paid_amount    BIGINT      NOT NULL DEFAULT 0,
  events         BIGINT      NOT NULL DEFAULT 0,
  updated_at     DATETIME(3) NOT NULL
) ENGINE=InnoDB;
