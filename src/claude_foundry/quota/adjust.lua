-- Correct a charge made into slot ARGV[3] by ARGV[4..6] (requests, input, output; negative
-- refunds), then move the corrected charge ARGV[8..10] ARGV[7] ms later than the slot's time
-- (the service counted it on arrival, possibly later than admission). Nothing when the slot
-- already left the window. Returns 1 if applied.
local slot = tonumber(ARGV[3])
local latest = tonumber(redis.call('HGET', key, 't' .. slot))
if not latest then return 0 end
local fields = {'r', 'i', 'o'}
local totals_fields = {'R', 'I', 'O'}
for b = 1, 3 do
  local delta = tonumber(ARGV[3 + b])
  if delta ~= 0 then
    redis.call('HINCRBY', key, fields[b] .. slot, delta)
    redis.call('HINCRBY', key, totals_fields[b], delta)
  end
end
local shift = tonumber(ARGV[7])
if shift > 0 then
  local when = latest + shift
  local target = math.floor(when / slot_ms)
  if target > slot then
    for b = 1, 3 do
      local amount = tonumber(ARGV[7 + b])
      if amount ~= 0 then
        redis.call('HINCRBY', key, fields[b] .. slot, -amount)
        redis.call('HINCRBY', key, fields[b] .. target, amount)
      end
    end
    local previous = tonumber(redis.call('HGET', key, 't' .. target))
    redis.call('HSET', key, 't' .. target, math.max(previous or when, when))
    local wanted = math.ceil(when - now + hold + 2 * slot_ms)
    if wanted > redis.call('PTTL', key) then redis.call('PEXPIRE', key, wanted) end
  end
end
return 1
