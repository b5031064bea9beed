-- The money and seat transactions, each one round trip from the worker (CALL).
-- Lock order everywhere: reservation -> wallet -> seat (hold_seat takes only the seat first;
-- a deadlock with a confirm at the exact expiry instant is resolved by the worker's retry).
-- Errors propagate to the caller, which rolls back; the procedures never swallow them.
-- Each returns one row: code (HTTP status), body (JSON on success, problem detail otherwise),
-- and what the worker needs after commit (replayed flag, balance and wallet version for the cache).

DROP PROCEDURE IF EXISTS hold_seat;
DROP PROCEDURE IF EXISTS confirm_reservation;
DROP PROCEDURE IF EXISTS charge_wallet;
DROP PROCEDURE IF EXISTS release_expired_holds;
DROP PROCEDURE IF EXISTS claim_idempotency_key;

DELIMITER //

CREATE PROCEDURE hold_seat(IN p_user BIGINT, IN p_schedule BIGINT, IN p_seat BIGINT,
                           IN p_ttl_ms INT)
BEGIN
  DECLARE v_found INT DEFAULT 1;
  DECLARE v_status VARCHAR(16);
  DECLARE v_expires DATETIME(3);
  DECLARE v_old_res BIGINT;
  DECLARE v_held_by BIGINT;
  DECLARE v_price BIGINT;
  DECLARE v_res BIGINT;
  DECLARE v_now DATETIME(3) DEFAULT UTC_TIMESTAMP(3);
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_found = 0;

  START TRANSACTION;
  SELECT status, hold_expires_at, reservation_id, held_by, price
    INTO v_status, v_expires, v_old_res, v_held_by, v_price
    FROM seats WHERE id = p_seat AND schedule_id = p_schedule FOR UPDATE;
  IF v_found = 0 THEN
    ROLLBACK;
    SELECT 404 AS code, 'seat not found in this schedule' AS body, NULL AS reservation_id,
           NULL AS price, NULL AS expires_at;
  ELSEIF v_status = 'SOLD' THEN
    ROLLBACK;
    SELECT 409 AS code, 'seat is already sold' AS body, NULL, NULL, NULL;
  ELSEIF v_status = 'HELD' AND v_expires > v_now AND v_held_by <> p_user THEN
    ROLLBACK;
    SELECT 409 AS code, 'seat is held by another user' AS body, NULL, NULL, NULL;
  ELSEIF v_status = 'HELD' AND v_expires > v_now THEN
    -- A repeated click by the holder: the existing hold, unchanged.
    ROLLBACK;
    SELECT 200 AS code, '' AS body, v_old_res, v_price, v_expires;
  ELSE
    IF v_old_res IS NOT NULL THEN
      UPDATE reservations SET status = 'EXPIRED' WHERE id = v_old_res AND status = 'HELD';
    END IF;
    SET v_expires = DATE_ADD(v_now, INTERVAL p_ttl_ms * 1000 MICROSECOND);
    INSERT INTO reservations (user_id, schedule_id, seat_id, price, status, expires_at, created_at)
      VALUES (p_user, p_schedule, p_seat, v_price, 'HELD', v_expires, v_now);
    SET v_res = LAST_INSERT_ID();
    UPDATE seats SET status = 'HELD', held_by = p_user, hold_expires_at = v_expires,
                     reservation_id = v_res
      WHERE id = p_seat;
    COMMIT;
    SELECT 201 AS code, '' AS body, v_res, v_price, v_expires;
  END IF;
END//

-- Inserts the (user, key) row that makes a request idempotent, inside the caller's transaction.
-- A concurrent request with the same key waits on this row's lock and then sees it as taken:
-- o_taken = 1 with the stored outcome (or 422 when the request differs), else 0.
CREATE PROCEDURE claim_idempotency_key(IN p_user BIGINT, IN p_key VARCHAR(128),
                                       IN p_hash CHAR(64), OUT o_taken INT,
                                       OUT o_code SMALLINT, OUT o_body TEXT)
BEGIN
  DECLARE v_hash CHAR(64);
  SET o_taken = 0;
  BEGIN
    DECLARE CONTINUE HANDLER FOR 1062 SET o_taken = 1;
    INSERT INTO idempotency_keys (user_id, idem_key, request_hash, status_code, response_body,
                                  created_at)
      VALUES (p_user, p_key, p_hash, 0, '', UTC_TIMESTAMP(3));
  END;
  IF o_taken = 1 THEN
    SELECT request_hash, status_code, response_body INTO v_hash, o_code, o_body
      FROM idempotency_keys WHERE user_id = p_user AND idem_key = p_key LOCK IN SHARE MODE;
    IF v_hash <> p_hash THEN
      SET o_code = 422, o_body = 'Idempotency-Key was already used with a different request';
    END IF;
  END IF;
END//

CREATE PROCEDURE confirm_reservation(IN p_user BIGINT, IN p_res BIGINT, IN p_key VARCHAR(128),
                                     IN p_hash CHAR(64))
BEGIN
  DECLARE v_found INT DEFAULT 1;
  DECLARE v_taken INT;
  DECLARE v_code SMALLINT DEFAULT 200;
  DECLARE v_body TEXT DEFAULT '';
  DECLARE v_owner BIGINT;
  DECLARE v_seat BIGINT;
  DECLARE v_schedule BIGINT;
  DECLARE v_price BIGINT;
  DECLARE v_rstatus VARCHAR(16);
  DECLARE v_expires DATETIME(3);
  DECLARE v_balance BIGINT DEFAULT NULL;
  DECLARE v_version BIGINT DEFAULT NULL;
  DECLARE v_payment BIGINT;
  DECLARE v_event CHAR(36);
  DECLARE v_now DATETIME(3) DEFAULT UTC_TIMESTAMP(3);
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_found = 0;

  START TRANSACTION;
  CALL claim_idempotency_key(p_user, p_key, p_hash, v_taken, v_code, v_body);
  IF v_taken = 1 THEN
    COMMIT;
    SELECT v_code AS code, v_body AS body, 1 AS replayed, NULL AS balance, NULL AS version;
  ELSE
    SET v_code = 200;
    SELECT user_id, seat_id, schedule_id, price, status, expires_at
      INTO v_owner, v_seat, v_schedule, v_price, v_rstatus, v_expires
      FROM reservations WHERE id = p_res FOR UPDATE;
    IF v_found = 0 THEN
      SET v_code = 404, v_body = 'reservation not found';
    ELSEIF v_owner <> p_user THEN
      SET v_code = 403, v_body = 'reservation belongs to another user';
    ELSEIF v_rstatus = 'CONFIRMED' THEN
      SET v_code = 409, v_body = 'reservation is already confirmed';
    ELSEIF v_rstatus <> 'HELD' OR v_expires <= v_now THEN
      SET v_code = 409, v_body = 'hold has expired';
    ELSE
      SELECT balance, version INTO v_balance, v_version
        FROM wallets WHERE user_id = p_user FOR UPDATE;
      IF v_found = 0 THEN
        SET v_code = 404, v_body = 'wallet not found', v_balance = NULL;
      ELSEIF v_balance < v_price THEN
        SET v_code = 402, v_body = CONCAT('balance ', v_balance, ' is below the price ', v_price),
            v_balance = NULL, v_version = NULL;
      ELSE
        SET v_balance = v_balance - v_price, v_version = v_version + 1;
        UPDATE wallets SET balance = v_balance, version = v_version, updated_at = v_now
          WHERE user_id = p_user;
        INSERT INTO payments (reservation_id, user_id, amount, created_at)
          VALUES (p_res, p_user, v_price, v_now);
        SET v_payment = LAST_INSERT_ID();
        INSERT INTO wallet_ledger (user_id, entry_type, amount, balance_after, ref_id, created_at)
          VALUES (p_user, 'PAYMENT', -v_price, v_balance, v_payment, v_now);
        UPDATE seats SET status = 'SOLD', hold_expires_at = NULL
          WHERE id = v_seat AND reservation_id = p_res AND status = 'HELD';
        IF ROW_COUNT() <> 1 THEN
          SIGNAL SQLSTATE '45000' SET MYSQL_ERRNO = 1644,
            MESSAGE_TEXT = 'seat is not held by this reservation';
        END IF;
        UPDATE reservations SET status = 'CONFIRMED', confirmed_at = v_now WHERE id = p_res;
        SET v_event = UUID();
        INSERT INTO outbox (event_id, aggregate_id, event_type, payload, created_at)
          VALUES (v_event, p_user, 'PaymentCompleted',
                  CONCAT('{"eventId":"', v_event, '","type":"PaymentCompleted","occurredAt":"',
                         DATE_FORMAT(v_now, '%Y-%m-%dT%H:%i:%s.%fZ'), '","userId":', p_user,
                         ',"amount":', v_price, ',"paymentId":', v_payment,
                         ',"reservationId":', p_res, ',"scheduleId":', v_schedule,
                         ',"seatId":', v_seat, ',"balance":', v_balance, '}'),
                  v_now);
        SET v_body = CONCAT('{"paymentId":', v_payment, ',"reservationId":', p_res,
                            ',"amount":', v_price, ',"balance":', v_balance,
                            ',"status":"CONFIRMED"}');
      END IF;
    END IF;
    UPDATE idempotency_keys SET status_code = v_code, response_body = v_body
      WHERE user_id = p_user AND idem_key = p_key;
    COMMIT;
    SELECT v_code AS code, v_body AS body, 0 AS replayed, v_balance AS balance,
           v_version AS version;
  END IF;
END//

CREATE PROCEDURE charge_wallet(IN p_user BIGINT, IN p_amount BIGINT, IN p_key VARCHAR(128),
                               IN p_hash CHAR(64), IN p_max_balance BIGINT)
BEGIN
  DECLARE v_found INT DEFAULT 1;
  DECLARE v_taken INT;
  DECLARE v_code SMALLINT DEFAULT 200;
  DECLARE v_body TEXT DEFAULT '';
  DECLARE v_balance BIGINT DEFAULT NULL;
  DECLARE v_version BIGINT DEFAULT NULL;
  DECLARE v_ledger BIGINT;
  DECLARE v_event CHAR(36);
  DECLARE v_now DATETIME(3) DEFAULT UTC_TIMESTAMP(3);
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_found = 0;

  START TRANSACTION;
  CALL claim_idempotency_key(p_user, p_key, p_hash, v_taken, v_code, v_body);
  IF v_taken = 1 THEN
    COMMIT;
    SELECT v_code AS code, v_body AS body, 1 AS replayed, NULL AS balance, NULL AS version;
  ELSE
    SET v_code = 200;
    SELECT balance, version INTO v_balance, v_version
      FROM wallets WHERE user_id = p_user FOR UPDATE;
    IF v_found = 0 THEN
      SET v_code = 404, v_body = 'wallet not found', v_balance = NULL;
    ELSEIF v_balance > p_max_balance - p_amount THEN
      SET v_code = 409, v_body = CONCAT('balance may not exceed ', p_max_balance),
          v_balance = NULL, v_version = NULL;
    ELSE
      SET v_balance = v_balance + p_amount, v_version = v_version + 1;
      UPDATE wallets SET balance = v_balance, version = v_version, updated_at = v_now
        WHERE user_id = p_user;
      INSERT INTO wallet_ledger (user_id, entry_type, amount, balance_after, ref_id, created_at)
        VALUES (p_user, 'CHARGE', p_amount, v_balance, NULL, v_now);
      SET v_ledger = LAST_INSERT_ID();
      SET v_event = UUID();
      INSERT INTO outbox (event_id, aggregate_id, event_type, payload, created_at)
        VALUES (v_event, p_user, 'WalletCharged',
                CONCAT('{"eventId":"', v_event, '","type":"WalletCharged","occurredAt":"',
                       DATE_FORMAT(v_now, '%Y-%m-%dT%H:%i:%s.%fZ'), '","userId":', p_user,
                       ',"amount":', p_amount, ',"ledgerId":', v_ledger,
                       ',"balance":', v_balance, '}'),
                v_now);
      SET v_body = CONCAT('{"userId":', p_user, ',"balance":', v_balance, '}');
    END IF;
    UPDATE idempotency_keys SET status_code = v_code, response_body = v_body
      WHERE user_id = p_user AND idem_key = p_key;
    COMMIT;
    SELECT v_code AS code, v_body AS body, 0 AS replayed, v_balance AS balance,
           v_version AS version;
  END IF;
END//

-- The sweeper's step: frees up to p_limit expired holds. Both statements use the same instant,
-- so a reservation is never left HELD past its seat's release or the other way round for long;
-- either half alone is already safe (confirm checks expiry, hold_seat takes expired seats).
CREATE PROCEDURE release_expired_holds(IN p_limit INT)
BEGIN
  DECLARE v_now DATETIME(3) DEFAULT UTC_TIMESTAMP(3);
  DECLARE v_reservations INT;
  DECLARE v_seats INT;
  START TRANSACTION;
  UPDATE reservations SET status = 'EXPIRED'
    WHERE status = 'HELD' AND expires_at <= v_now ORDER BY expires_at LIMIT p_limit;
  SET v_reservations = ROW_COUNT();
  UPDATE seats SET status = 'AVAILABLE', held_by = NULL, hold_expires_at = NULL,
                   reservation_id = NULL
    WHERE status = 'HELD' AND hold_expires_at <= v_now ORDER BY hold_expires_at LIMIT p_limit;
  SET v_seats = ROW_COUNT();
  COMMIT;
  SELECT v_reservations AS reservations_expired, v_seats AS seats_released;
END//

DELIMITER ;
