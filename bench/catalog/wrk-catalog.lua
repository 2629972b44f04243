-- wrk script for bench/catalog/catalog-bench.ts --client wrk: one connection per thread, each
-- thread on its own table (t0, t1, ...) as the Node.js client's workers are, so that commits
-- never race on one table. Environment: BENCH_NS (namespace), BENCH_OP (loadTable | commit).
-- Prints one JSON line with the totals and the latency percentiles (microseconds).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  ns = os.getenv("BENCH_NS")
  op = os.getenv("BENCH_OP")
  path = string.format("%s/v1/namespaces/%s/tables/t%d", wrk.path:gsub("/+$", ""), ns, id)
  n = 0
end

function request()
  if op == "commit" then
    n = n + 1
    local body = string.format('{"requirements":[],"updates":[{"action":"set-properties","updates":{"n":"%d-%d"}}]}', id, n)
    return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"requests":%d,"durationUs":%d,"errors":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99)))
end
