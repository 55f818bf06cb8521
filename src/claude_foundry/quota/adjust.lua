-- Correct a charge made into slot ARGV[3] by ARGV[4..6] (requests, input, output; negative
-- refunds); nothing when the slot already left the window. Returns 1 if applied.
local slot = ARGV[3]
if redis.call('HEXISTS', key, 't' .. slot) == 0 then return 0 end
local fields = {'r', 'i', 'o'}
local totals_fields = {'R', 'I', 'O'}
for b = 1, 3 do
  local delta = tonumber(ARGV[3 + b])
  if delta ~= 0 then
    redis.call('HINCRBY', key, fields[b] .. slot, delta)
    redis.call('HINCRBY', key, totals_fields[b], delta)
  end
end
return 1
