-- The scaling benchmark's request mix (prepended with bench/wrk/common.lua by tests/scaling/run):
-- GET /api/wallet/{id}/balance and, every <charge_every>-th request, POST /api/wallet/{id}/charge
-- with its own Idempotency-Key, over many users, each with its own bearer token.
-- args: file=<lines "userId token"> run=<run id> charge_every=<n>
count_statuses = true
local users = {}
local k = 0
local run, every

function init(args)
  local opts = parse_args(args)
  for _, row in ipairs(read_rows(opts.file)) do users[#users + 1] = row end
  run = opts.run
  every = tonumber(opts.charge_every)
end

function request()
  k = k + 1
  local u = users[(tidx + k * 7) % #users + 1]
  local auth = "Bearer " .. u[2]
  if every > 0 and k % every == 0 then
    return wrk.format("POST", "/api/wallet/" .. u[1] .. "/charge",
                      {["Authorization"] = auth, ["Content-Type"] = "application/json",
                       ["Idempotency-Key"] = run .. "-" .. tidx .. "-" .. k}, '{"amount":100}')
  end
  return wrk.format("GET", "/api/wallet/" .. u[1] .. "/balance", {["Authorization"] = auth})
end

function response(status)
  count_status(status)
end
