-- wrk script for bench.ack_under_processing: cycle through pre-signed webhook bodies, giving
-- every request a webhook id of its own, so each one is a real insert on the server.
--
--   wrk -s bench/signed_webhooks.lua URL -- SIGNED_FILE ID_PREFIX
--
-- SIGNED_FILE (written by bench.wrk.write_signed_file): a line with the number
-- of common headers, then one "Name: value" line each; a line with the number of bodies, then
-- for each body a line with its HMAC, a line with its length in bytes, and the body itself.
-- Ids are ID_PREFIX, the wrk thread's number, "-", and a counter: unique across threads.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local headers, bodies, macs = {}, {}, {}
local prefix, counter = "", 0

function init(args)
  local file = assert(io.open(args[1], "rb"))
  for _ = 1, tonumber(file:read("*l")) do
    local name, value = string.match(file:read("*l"), "^([^:]+): (.*)$")
    headers[name] = value
  end
  for index = 1, tonumber(file:read("*l")) do
    macs[index] = file:read("*l")
    bodies[index] = file:read(tonumber(file:read("*l")))
  end
  file:close()
  prefix = args[2] .. thread_number .. "-"
end

function request()
  counter = counter + 1
  local index = (counter - 1) % #bodies + 1
  local id = prefix .. counter
  headers["X-Shopify-Hmac-Sha256"] = macs[index]
  headers["X-Shopify-Webhook-Id"] = id
  headers["X-Shopify-Event-Id"] = id
  return wrk.format("POST", "/webhooks", headers, bodies[index])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH_RESULT %d %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, errors.status, errors.connect, errors.read,
    errors.write, errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
