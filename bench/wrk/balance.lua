-- GET /api/wallet/{id}/balance for many users, round-robin, each with its own bearer token.
-- args: file=<lines "userId token"> nthreads=<n>. Requests are pre-rendered at init.
local reqs = {}
local k = 0
local step, offset

function init(args)
  local opts = parse_args(args)
  for _, row in ipairs(read_rows(opts.file)) do
    reqs[#reqs + 1] = wrk.format("GET", "/api/wallet/" .. row[1] .. "/balance",
                                 {["Authorization"] = "Bearer " .. row[2]})
  end
  step = tonumber(opts.nthreads)
  offset = tidx
end

function request()
  local i = (offset + k * step) % #reqs + 1
  k = k + 1
  return reqs[i]
end
