-- POSTs, each once, built from the lines of $BENCH_ITEMS (one request per line; threads take
-- disjoint slices); a thread stops when its slice is used up. $BENCH_KIND says how a line reads:
--   confirm: "<orderId> <paymentKey> <amount>" → POST /v1/payments/confirm (or $BENCH_PATH)
--   cancel:  "<paymentId>"                     → POST /v1/payments/<id>/cancel
--   create:  "<orderId>"                       → POST /v1/payments
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "common.lua")

local kind = os.getenv("BENCH_KIND")
-- BENCH_KEYED=1: each request carries an Idempotency-Key of its own (its line's first field).
local keyed = os.getenv("BENCH_KEYED") == "1"
local confirm_path = os.getenv("BENCH_PATH") or "/v1/payments/confirm"
local items, next_item, last_item

function init(args)
   local all = read_lines(os.getenv("BENCH_ITEMS"))
   local nthreads = tonumber(os.getenv("BENCH_THREADS"))
   local share = math.floor(#all / nthreads)
   items = all
   next_item = tid * share + 1
   last_item = next_item + share - 1
end

function request()
   if next_item > last_item then
      if not stopped then  -- tell bench/load.py, which then ends wrk (it would sleep out -d)
         local done_file = io.open(os.getenv("BENCH_DONE") .. tid, "w")
         done_file:close()
      end
      stopped = true
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
   end
   local f = split(items[next_item])
   next_item = next_item + 1
   local sent = headers
   if keyed then
      sent = {["Idempotency-Key"] = kind .. "-" .. f[1]}
      for name, value in pairs(headers) do sent[name] = value end
   end
   if kind == "confirm" then
      return wrk.format("POST", confirm_path, sent, string.format(
         '{"paymentKey":"%s","orderId":"%s","amount":%s}', f[2], f[1], f[3]))
   elseif kind == "cancel" then
      return wrk.format("POST", "/v1/payments/" .. f[1] .. "/cancel", sent,
         '{"cancelReason":"bench"}')
   else
      return wrk.format("POST", "/v1/payments", sent, string.format(
         '{"orderId":"%s","orderName":"bench","amount":15000}', f[1]))
   end
end
