-- wrk script: GET /api/v1/customers/{random id in 1..FIDELIS_BENCH_MAX_ID} with an API key.
local key = os.getenv("FIDELIS_BENCH_KEY")
local max_id = tonumber(os.getenv("FIDELIS_BENCH_MAX_ID") or "1000")
local headers = { ["Authorization"] = "Bearer " .. key }
local counter = 0
request = function()
  counter = counter + 1
  local id = (counter * 7919 + math.random(0, 1000000)) % max_id + 1
  return wrk.format("GET", "/api/v1/customers/" .. id, headers)
end
response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
