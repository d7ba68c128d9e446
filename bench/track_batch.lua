-- wrk: POST /api/v1/tracking/events with batches of 500 events (50 visitors x 10 events), from a
-- set of 64 pre-built bodies so that visitors vary. FIDELIS_BENCH_KEY: an API key with tracking:write.
local key = os.getenv("FIDELIS_BENCH_KEY")
local bodies = {}
local types = {"page_view", "page_view", "page_view", "product_view", "page_view", "search", "page_view", "cart_add", "page_view", "checkout_step"}
math.randomseed(os.time())
for b = 1, 64 do
  local ev = {}
  for v = 1, 50 do
    local vid = string.format("bench-%d-%d-%d", math.random(1, 1000000), b, v)
    for i = 1, 10 do
      local t = types[i]
      local extra = ""
      if t == "product_view" or t == "cart_add" then extra = ',"sku":"SKU-' .. i .. '"' end
      if t == "search" then extra = ',"query":"tondeuse"' end
      if t == "checkout_step" then extra = ',"step":"shipping"' end
      ev[#ev + 1] = string.format('{"visitor_id":"%s","type":"%s","url":"https://shop.fr/p/%d?utm_medium=email"%s}', vid, t, i, extra)
    end
  end
  bodies[b] = '{"events":[' .. table.concat(ev, ",") .. ']}'
end
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/api/v1/tracking/events", nil, bodies[(n % 64) + 1])
end
