-- Tables of the ticketing system. Runs unchanged on MariaDB 10.11 and MySQL 8.0.
-- Times are UTC DATETIME(3); money is BIGINT KRW. No foreign keys on the hot tables:
-- every write goes through the procedures of V002, which keep the references intact
-- without the parent-row share locks foreign keys take inside the payment transaction.

CREATE TABLE users (
  id          BIGINT       NOT NULL PRIMARY KEY,
  name        VARCHAR(64)  NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;

CREATE TABLE wallets (
  user_id     BIGINT       NOT NULL PRIMARY KEY,
  balance     BIGINT       NOT NULL DEFAULT 0,
  -- Bumped by every change; the Redis cache only ever moves to a higher version.
  version     BIGINT       NOT NULL DEFAULT 0,
  updated_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  CONSTRAINT wallets_balance_nonneg CHECK (balance >= 0)
) ENGINE=InnoDB;

CREATE TABLE concerts (
  id          BIGINT       NOT NULL PRIMARY KEY,
  title       VARCHAR(200) NOT NULL
) ENGINE=InnoDB;

CREATE TABLE schedules (
  id          BIGINT       NOT NULL PRIMARY KEY,
  concert_id  BIGINT       NOT NULL,
  starts_at   DATETIME(3)  NOT NULL,
  KEY schedules_concert (concert_id)
) ENGINE=InnoDB;

CREATE TABLE seats (
  id              BIGINT      NOT NULL PRIMARY KEY,
  schedule_id     BIGINT      NOT NULL,
  price           BIGINT      NOT NULL,
  status          ENUM('AVAILABLE','HELD','SOLD') NOT NULL DEFAULT 'AVAILABLE',
  held_by         BIGINT      NULL,
  hold_expires_at DATETIME(3) NULL,
  reservation_id  BIGINT      NULL,
  KEY seats_schedule (schedule_id, id),
  KEY seats_hold_expiry (status, hold_expires_at),
  CONSTRAINT seats_price_positive CHECK (price > 0)
) ENGINE=InnoDB;

CREATE TABLE reservations (
  id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id      BIGINT      NOT NULL,
  schedule_id  BIGINT      NOT NULL,
  seat_id      BIGINT      NOT NULL,
  price        BIGINT      NOT NULL,
  status       ENUM('HELD','CONFIRMED','EXPIRED') NOT NULL,
  expires_at   DATETIME(3) NOT NULL,
  created_at   DATETIME(3) NOT NULL,
  confirmed_at DATETIME(3) NULL,
  KEY reservations_user (user_id),
  KEY reservations_expiry (status, expires_at)
) ENGINE=InnoDB;

CREATE TABLE payments (
  id             BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
  reservation_id BIGINT      NOT NULL,
  user_id        BIGINT      NOT NULL,
  amount         BIGINT      NOT NULL,
  created_at     DATETIME(3) NOT NULL,
  -- The last line of defence against paying one reservation twice.
  UNIQUE KEY payments_reservation (reservation_id),
  KEY payments_user (user_id)
) ENGINE=InnoDB;

CREATE TABLE wallet_ledger (
  id            BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id       BIGINT      NOT NULL,
  entry_type    ENUM('CHARGE','PAYMENT') NOT NULL,
  -- Signed: charges are positive, payments negative; per user they sum to the balance.
  amount        BIGINT      NOT NULL,
  balance_after BIGINT      NOT NULL,
  ref_id        BIGINT      NULL,
  created_at    DATETIME(3) NOT NULL,
  KEY wallet_ledger_user (user_id, id)
) ENGINE=InnoDB;

CREATE TABLE idempotency_keys (
  user_id       BIGINT       NOT NULL,
  idem_key      VARCHAR(128) NOT NULL,
  -- SHA-256 of endpoint + canonical body: the same key with another request is a 422.
  request_hash  CHAR(64)     NOT NULL,
  status_code   SMALLINT     NOT NULL,
  response_body TEXT         NOT NULL,
  created_at    DATETIME(3)  NOT NULL,
  PRIMARY KEY (user_id, idem_key),
  KEY idempotency_keys_age (created_at)
) ENGINE=InnoDB;

CREATE TABLE outbox (
  id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id     CHAR(36)     NOT NULL,
  aggregate_id BIGINT       NOT NULL,
  event_type   VARCHAR(32)  NOT NULL,
  payload      TEXT         NOT NULL,
  created_at   DATETIME(3)  NOT NULL,
  status       ENUM('PENDING','PUBLISHED','QUARANTINED') NOT NULL DEFAULT 'PENDING',
  attempts     INT          NOT NULL DEFAULT 0,
  last_error   VARCHAR(255) NULL,
  published_at DATETIME(3)  NULL,
  UNIQUE KEY outbox_event (event_id),
  KEY outbox_pending (status, id),
  KEY outbox_aggregate (aggregate_id, id)
) ENGINE=InnoDB;
