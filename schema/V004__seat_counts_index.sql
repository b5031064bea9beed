-- The concert page counts available seats per schedule; with status and expiry in the index the
-- count reads only the index (no row lookups), which keeps the catalog refresh cheap at
-- 100,000 seats. It replaces seats_schedule, of which it is a prefix-compatible superset.
ALTER TABLE seats ADD KEY seats_schedule_status (schedule_id, status, hold_expires_at),
                  DROP KEY seats_schedule;
