-- POST /api/reservations/temporary-assign under contention: each seat gets `per_seat`
-- consecutive attempts from different users, issued by different connections at once.
-- args: file=<lines "userId token [queueToken]"> seat_first=<id> seats=<seats per thread>
-- per_seat=<n> schedule=<id>. Thread t uses seats seat_first + t*seats .. + seats-1.
local reqs_users, seat_first, seats, per_seat, schedule
local k = 0

function init(args)
  local opts = parse_args(args)
  reqs_users = read_rows(opts.file)
  seats = tonumber(opts.seats)
  seat_first = tonumber(opts.seat_first) + tidx * seats
  per_seat = tonumber(opts.per_seat)
  schedule = opts.schedule
end

function request()
  local seat = seat_first + math.floor(k / per_seat) % seats
  local u = reqs_users[(k + tidx * 7919) % #reqs_users + 1]
  k = k + 1
  local headers = {["Authorization"] = "Bearer " .. u[2], ["Content-Type"] = "application/json"}
  if u[3] then headers["X-Queue-Token"] = u[3] end
  return wrk.format("POST", "/api/reservations/temporary-assign", headers,
                    '{"scheduleId":' .. schedule .. ',"seatId":' .. seat .. '}')
end

function response(status, headers, body)
  count_status(status)
end
