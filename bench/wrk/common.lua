-- Shared by every wrk case of bench/run (prepended to the case script).
-- Gives each wrk thread its index (tidx) and the thread count (nthreads), counts statuses when
-- the case defines count_statuses = true, and prints one "BENCHJSON {...}" line at the end
-- with the summary, the latency percentiles (microseconds) and the status counts.
local all_threads = {}

function setup(thread)
  thread:set("tidx", #all_threads)
  table.insert(all_threads, thread)
end

-- "key=value" arguments after wrk's "--".
function parse_args(args)
  local opts = {}
  for _, a in ipairs(args or {}) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k then opts[k] = v end
  end
  return opts
end

-- Lines of a file split on spaces.
function read_rows(path)
  local rows = {}
  for line in io.lines(path) do
    local fields = {}
    for f in line:gmatch("%S+") do fields[#fields + 1] = f end
    if #fields > 0 then rows[#rows + 1] = fields end
  end
  return rows
end

statuses = {}
function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  local function add(k, v) parts[#parts + 1] = string.format('"%s":%s', k, v) end
  add("requests", summary.requests)
  add("duration_us", summary.duration)
  add("bytes", summary.bytes)
  add("err_connect", summary.errors.connect)
  add("err_read", summary.errors.read)
  add("err_write", summary.errors.write)
  add("err_status", summary.errors.status)
  add("err_timeout", summary.errors.timeout)
  add("lat_min_us", latency.min)
  add("lat_max_us", latency.max)
  add("lat_mean_us", string.format("%.1f", latency.mean))
  for _, p in ipairs({50, 75, 90, 99, 99.9}) do
    add("p" .. tostring(p):gsub("%.", "_"), latency:percentile(p))
  end
  local st = {}
  for _, t in ipairs(all_threads) do
    local s = t:get("statuses")
    if type(s) == "table" then
      for code, n in pairs(s) do st[code] = (st[code] or 0) + n end
    end
  end
  local sp = {}
  for code, n in pairs(st) do sp[#sp + 1] = string.format('"%s":%d', tostring(code), n) end
  parts[#parts + 1] = '"statuses":{' .. table.concat(sp, ",") .. '}'
  io.write("BENCHJSON {" .. table.concat(parts, ",") .. "}\n")
end
