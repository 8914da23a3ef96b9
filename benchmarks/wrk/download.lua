-- A large download under load. Bodies are not handed to Lua (that would copy every byte twice
-- and distort throughput): wrk counts statuses >= 400 and socket errors, load.py checks the
-- byte count against the file size, and the workload checks the file's sha256 before and after.
-- done() prints one JSON line (see load.py).

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, ' ..
    '"status": %d, "mismatches": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status, 0))
end
