-- Shared head of every quota script: the pool's window, pruned to now (Redis server time).
-- KEYS[1]: the pool's hash. Fields: R, I, O (totals in the window), lo (oldest live slot) and
-- per slot N: tN (latest charge, ms), rN, iN, oN (its requests, input and output tokens).
-- ARGV[1]: hold_ms (how long a charge counts), ARGV[2]: slot_ms. The same rules as window.py.
local key = KEYS[1]
local hold = tonumber(ARGV[1])
local slot_ms = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local current = math.floor(now / slot_ms)
local head = redis.call('HMGET', key, 'R', 'I', 'O', 'lo')
local totals = {tonumber(head[1]) or 0, tonumber(head[2]) or 0, tonumber(head[3]) or 0}
local lo = tonumber(head[4])
if lo then
  while lo <= current do
    local latest = redis.call('HGET', key, 't' .. lo)
    if latest then
      if tonumber(latest) + hold > now then break end
      local counts = redis.call('HMGET', key, 'r' .. lo, 'i' .. lo, 'o' .. lo)
      for b = 1, 3 do totals[b] = totals[b] - (tonumber(counts[b]) or 0) end
      redis.call('HDEL', key, 't' .. lo, 'r' .. lo, 'i' .. lo, 'o' .. lo)
    end
    lo = lo + 1
  end
  redis.call('HSET', key, 'R', totals[1], 'I', totals[2], 'O', totals[3], 'lo', lo)
end
