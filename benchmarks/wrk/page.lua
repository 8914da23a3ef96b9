-- A page under load: every response must be status 200 with exactly the expected bytes.
-- wrk ... -s page.lua URL -- EXPECTED_FILE
-- The expected file was written by the workload after checking the page's file hashes.
-- done() prints one JSON line (see load.py).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  expected = f:read("*a")
  f:close()
  mismatches = 0
end

function response(status, headers, body)
  if status ~= 200 or body ~= expected then
    mismatches = mismatches + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("mismatches")
  end
  report(summary, latency, total)
end

-- Shared with download.lua (wrk loads one script, so it is repeated there).
function report(summary, latency, mismatches)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, ' ..
    '"status": %d, "mismatches": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status, mismatches))
end
