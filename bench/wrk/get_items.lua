-- GETs of the paths in $BENCH_ITEMS (one a line), taken round-robin from a random start per
-- thread, for as long as wrk runs.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "common.lua")

local items, i

function init(args)
   items = read_lines(os.getenv("BENCH_ITEMS"))
   math.randomseed(tid * 7919 + 1)
   i = math.random(#items)
end

function request()
   i = i % #items + 1
   return wrk.format("GET", items[i], headers)
end
