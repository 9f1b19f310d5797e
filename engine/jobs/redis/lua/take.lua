-- A worker takes the first job in the fair order - and, up to `max` in all, the next waiting jobs
-- that can run in one batch with it (the same `batch` field: same image shapes and schedule) -
-- and holds each under a lease.
--
-- KEYS[1] P:queued          sorted set of waiting jobs by score
-- KEYS[2] P:running         sorted set of running jobs by score
-- ARGV[1] JSON {prefix, token, worker, lease_ms, events, max, scan}
--         token: this run's secret (only its holder may report progress or an outcome);
--         scan: how many waiting jobs, from the head of the line, are looked at for batch mates
-- Returns a list of {id, attempts, now_ms, submitted_ms}, first in line first; empty when none waits.
-- The taken jobs' keys are named here from the prefix (P:job:<id>, P:lease:<id>), as their ids
-- are only known inside the script: standalone Redis, not Redis Cluster.
local a = cjson.decode(ARGV[1])
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
if not head[1] then return {} end
local key = redis.call('HGET', a.prefix .. ':job:' .. head[1], 'batch') or ''
local ids = {head[1]}
if key ~= '' and a.max > 1 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 1, a.scan - 1)) do
    if #ids >= a.max then break end
    if redis.call('HGET', a.prefix .. ':job:' .. id, 'batch') == key then table.insert(ids, id) end
  end
end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local taken = {}
for _, id in ipairs(ids) do
  local job = a.prefix .. ':job:' .. id
  redis.call('ZADD', KEYS[2], redis.call('ZSCORE', KEYS[1], id), id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HSET', job, 'state', 'running', 'owner', a.token, 'worker', a.worker, 'started_at', now,
             'step', 0, 'total', 0, 'frame', 0, 'frames', 0)
  redis.call('HDEL', job, 'losses', 'preview')
  local attempts = redis.call('HINCRBY', job, 'attempts', 1)
  redis.call('SET', a.prefix .. ':lease:' .. id, a.token, 'PX', a.lease_ms)
  redis.call('PUBLISH', a.events, cjson.encode({id = id, k = 'state'}))
  table.insert(taken, {id, attempts, now, redis.call('HGET', job, 'submitted_at')})
end
return taken
