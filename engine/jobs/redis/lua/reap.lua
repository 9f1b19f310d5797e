-- Put every running job whose lease is gone back in line with its old score: its worker died
-- (or gave it back, see release.lua). Every worker runs this every few seconds.
--
-- KEYS[1] P:running         sorted set of running jobs by score
-- KEYS[2] P:queued          sorted set of waiting jobs by score
-- ARGV[1] JSON {prefix, events}
-- Returns the ids put back. Each job's own keys (P:job:<id>, P:lease:<id>) are named here from
-- the prefix: standalone Redis, not Redis Cluster.
local a = cjson.decode(ARGV[1])
local reaped = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', a.prefix .. ':lease:' .. id) == 0 then
    local job = a.prefix .. ':job:' .. id
    redis.call('ZADD', KEYS[2], redis.call('ZSCORE', KEYS[1], id), id)
    redis.call('ZREM', KEYS[1], id)
    redis.call('HSET', job, 'state', 'queued', 'step', 0, 'total', 0, 'frame', 0, 'frames', 0)
    redis.call('HDEL', job, 'owner', 'worker', 'started_at', 'losses', 'preview')
    redis.call('PUBLISH', a.events, cjson.encode({id = id, k = 'state'}))
    table.insert(reaped, id)
  end
end
return reaped
