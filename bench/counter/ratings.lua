-- wrk script for the counter benchmark: each request posts one rating, as a tablet does, with a
-- fresh UUID and the token of one of the paired devices (round robin). Environment:
--   TOKENS  comma-separated device tokens (none for the bare anchor)
--   DELAY_MS  pause before each request on a connection (for a fixed, lower rate)
-- done() prints one JSON line: requests, errors, rate and latency percentiles (ms).
local tokens = {}
for t in string.gmatch(os.getenv("TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = t end
local delayMs = tonumber(os.getenv("DELAY_MS") or "0")
local threadCount = 0
local threads = {}

function setup(thread)
  threadCount = threadCount + 1
  thread:set("id", threadCount)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  math.randomseed(id * 7919 + os.time())
end

function request()
  counter = counter + 1
  -- Unique across threads and requests: the thread in the first group, the count in the last.
  local uuid = string.format("%08x-%04x-4%03x-8%03x-%012x", id, math.random(0, 65535),
                             math.random(0, 4095), math.random(0, 4095), counter)
  local now = os.time() * 1000
  local body = string.format(
    '{"sent_at":%d,"ratings":[{"uuid":"%s","rating":"%d","tapped_at":%d}]}',
    now, uuid, 2 + counter % 2, now)
  local headers = {["Content-Type"] = "application/json"}
  if #tokens > 0 then headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1] end
  return wrk.format("POST", nil, headers, body)
end

function delay()
  return delayMs
end

function done(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.status + errors.timeout
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rate":%.1f,"failed":%d,"non_2xx":%d,' ..
    '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), failed,
    errors.status, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
