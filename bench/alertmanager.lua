-- wrk script for the load test: POSTs the Alertmanager fixture with a bearer
-- token, to every server alike (bare Fiber and the bridge).
--
--   wrk -t2 -c64 -d10s --latency -s bench/alertmanager.lua URL -- FIXTURE TOKEN
--
-- Every request is a distinct notification: the first alert's 16-hex-digit
-- fingerprint is replaced with the thread number and a counter (same length,
-- so the body stays 2,380 bytes). The bridge de-duplicates identical
-- Alertmanager payloads within dedup.window (10m), so a constant body would
-- measure the duplicate path (200, nothing stored) instead of ingest.

local counter = 1
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  -- A distinct run id per wrk invocation, so that successive runs against
  -- the same bridge never repeat a payload either.
  thread:set("run", os.time() % 65536)
  counter = counter + 1
end

function init(args)
  local path = args[1] or "testdata/alertmanager/firing.json"
  local token = args[2] or "bench-am-token"
  local f = assert(io.open(path, "rb"))
  local body = f:read("*a")
  f:close()
  local fp = "a29c402ab1f673f9"
  local i, j = string.find(body, fp, 1, true)
  assert(i, "fixture has no fingerprint " .. fp)
  prefix = string.sub(body, 1, i - 1)
  suffix = string.sub(body, j + 1)
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }
  seq = 0
end

function request()
  seq = seq + 1
  local fp = string.format("%04x%02x%010x", run, tid, seq)
  return wrk.format("POST", nil, headers, prefix .. fp .. suffix)
end
