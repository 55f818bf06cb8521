-- Reserve one request's three costs in a pool, all or none.
-- ARGV[3..5]: costs (requests, input, output); ARGV[6..8]: limits (-1: unlimited).
-- Returns {1, slot} when charged, or {0, wait_ms, binding budget} (wait_ms a string: Redis
-- would truncate a Lua float).
local costs = {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}
local limits = {tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])}
local fields = {'r', 'i', 'o'}
local wait = -1
local binding = -1
for b = 1, 3 do
  local used, cost, limit = totals[b], costs[b], limits[b]
  if limit >= 0 and used > 0 and used + cost > limit then
    local needed = math.min(used, used + cost - limit)
    local freed = 0
    local until_free = hold
    local n = lo or current
    -- Charges moved by adjust.lua may sit in slots up to a window ahead of now.
    local last = current + math.ceil(hold / slot_ms)
    while n <= last do
      local latest = redis.call('HGET', key, 't' .. n)
      if latest then
        freed = freed + (tonumber(redis.call('HGET', key, fields[b] .. n)) or 0)
        if freed >= needed then
          until_free = math.max(tonumber(latest) + hold - now, 0)
          break
        end
      end
      n = n + 1
    end
    if until_free > wait then
      wait = until_free
      binding = b - 1
    end
  end
end
if wait >= 0 then
  return {0, tostring(math.max(wait, 1)), binding}
end
local slot = current
local previous = tonumber(redis.call('HGET', key, 't' .. slot))
redis.call('HSET', key, 't' .. slot, math.max(previous or now, now))
for b = 1, 3 do
  redis.call('HINCRBY', key, fields[b] .. slot, costs[b])
  totals[b] = totals[b] + costs[b]
end
if not lo or lo > slot then lo = slot end
redis.call('HSET', key, 'R', totals[1], 'I', totals[2], 'O', totals[3], 'lo', lo)
redis.call('PEXPIRE', key, math.ceil(hold + 2 * slot_ms))
return {1, slot}
