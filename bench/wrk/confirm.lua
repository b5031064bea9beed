-- POST /api/reservations/confirm: each request pays a distinct prepared HELD reservation with a
-- unique Idempotency-Key. args: file=<lines "userId reservationId token"> first=<row index>
-- count=<rows this run may use> nthreads=<n> keyprefix=<unique per run>.
-- Rows are split between threads (row = first + tidx + k*nthreads); past the end the script
-- wraps around (those requests answer 409 and are reported, never counted as payments).
local rows, first, count, step, prefix
local k = 0

function init(args)
  local opts = parse_args(args)
  rows = read_rows(opts.file)
  first = tonumber(opts.first)
  count = tonumber(opts.count)
  step = tonumber(opts.nthreads)
  prefix = opts.keyprefix
end

function request()
  local i = first + (tidx + k * step) % count
  k = k + 1
  local row = rows[i + 1]
  return wrk.format("POST", "/api/reservations/confirm", {
    ["Authorization"] = "Bearer " .. row[3],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. "-" .. row[2],
  }, '{"reservationId":' .. row[2] .. '}')
end

function response(status, headers, body)
  count_status(status)
end
