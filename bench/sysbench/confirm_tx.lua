-- sysbench reference for POST /api/reservations/confirm: the same transaction shape as the
-- confirm_reservation procedure, sent the way a naive client would, one statement per round
-- trip (text protocol, no procedure, no idempotency-key rows):
--   BEGIN; lock the reservation FOR UPDATE; lock the wallet FOR UPDATE; debit; insert payment;
--   insert ledger row; seat -> SOLD; reservation -> CONFIRMED; insert outbox event; COMMIT.
-- Rows are prepared by bench/run in their own database (reservation n: user n, seat n, HELD).
-- Each thread pays distinct reservations: first + tid + k*threads.
sysbench.cmdline.options = {
  first = {"first reservation id this run may use", 1},
  rows = {"number of reservations this run may use", 100000},
}

local con
local k = 0

function thread_init()
  con = sysbench.sql.driver():connect()
end

function thread_done()
  con:disconnect()
end

local function one(sql)
  local rs = con:query(sql)
  return rs and rs:fetch_row()
end

function event()
  local rows = sysbench.opt.rows
  local r = sysbench.opt.first + (sysbench.tid + k * sysbench.opt.threads) % rows
  k = k + 1
  con:query("BEGIN")
  local res = one("SELECT user_id, seat_id, schedule_id, price, status, expires_at " ..
                  "FROM reservations WHERE id = " .. r .. " FOR UPDATE")
  local user, seat, schedule, price = res[1], res[2], res[3], tonumber(res[4])
  local w = one("SELECT balance, version FROM wallets WHERE user_id = " .. user .. " FOR UPDATE")
  local balance = tonumber(w[1]) - price
  con:query("UPDATE wallets SET balance = " .. balance .. ", version = version + 1, " ..
            "updated_at = UTC_TIMESTAMP(3) WHERE user_id = " .. user)
  con:query("INSERT INTO payments (reservation_id, user_id, amount, created_at) VALUES (" ..
            r .. ", " .. user .. ", " .. price .. ", UTC_TIMESTAMP(3))")
  con:query("INSERT INTO wallet_ledger (user_id, entry_type, amount, balance_after, ref_id, " ..
            "created_at) VALUES (" .. user .. ", 'PAYMENT', " .. -price .. ", " .. balance ..
            ", LAST_INSERT_ID(), UTC_TIMESTAMP(3))")
  con:query("UPDATE seats SET status = 'SOLD', hold_expires_at = NULL WHERE id = " .. seat ..
            " AND reservation_id = " .. r .. " AND status = 'HELD'")
  con:query("UPDATE reservations SET status = 'CONFIRMED', confirmed_at = UTC_TIMESTAMP(3) " ..
            "WHERE id = " .. r)
  con:query("INSERT INTO outbox (event_id, aggregate_id, event_type, payload, created_at) " ..
            "VALUES (UUID(), " .. user .. ", 'PaymentCompleted', '{\"type\":\"PaymentCompleted\"," ..
            "\"userId\":" .. user .. ",\"amount\":" .. price .. ",\"reservationId\":" .. r ..
            ",\"scheduleId\":" .. schedule .. ",\"seatId\":" .. seat .. ",\"balance\":" ..
            balance .. "}', UTC_TIMESTAMP(3))")
  con:query("COMMIT")
end
