-- A worker takes the first job in the fair order and holds it under a lease.
--
-- KEYS[1] P:queued          sorted set of waiting jobs by score
-- KEYS[2] P:running         sorted set of running jobs by score
-- ARGV[1] JSON {prefix, token, worker, lease_ms, events}
--         token: this run's secret (only its holder may report progress or the outcome)
-- Returns {id, attempts, now_ms, submitted_ms}, or false when no job waits.
-- The taken job's keys are named here from the prefix (P:job:<id>, P:lease:<id>), as its id is
-- only known inside the script: standalone Redis, not Redis Cluster.
local a = cjson.decode(ARGV[1])
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if not head[1] then return false end
local id, score = head[1], head[2]
local job = a.prefix .. ':job:' .. id
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREM', KEYS[1], id)
redis.call('ZADD', KEYS[2], score, id)
redis.call('HSET', job, 'state', 'running', 'owner', a.token, 'worker', a.worker, 'started_at', now,
           'step', 0, 'total', 0, 'frame', 0, 'frames', 0)
redis.call('HDEL', job, 'losses', 'preview')
local attempts = redis.call('HINCRBY', job, 'attempts', 1)
redis.call('SET', a.prefix .. ':lease:' .. id, a.token, 'PX', a.lease_ms)
redis.call('PUBLISH', a.events, cjson.encode({id = id, k = 'state'}))
return {id, attempts, now, redis.call('HGET', job, 'submitted_at')}
