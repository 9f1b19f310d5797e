-- Queue a new job, unless the user's or the queue's cap says no (checked atomically, so caps hold
-- across any number of bot processes).
--
-- Fair order (start-time fair queueing): a job's round is max(virtual time, the user's next
-- round); the virtual time is the lowest round queued or running, so a newcomer lines up with
-- the current round instead of behind everybody's backlog, and a user with three queued jobs
-- holds rounds r, r+1, r+2. Jobs run by (round, arrival): A A A B runs as A B A A. The score
-- packs both into one integer: round * 2^24 + arrival sequence.
--
-- KEYS[1] P:job:<id>        the job's hash
-- KEYS[2] P:in:<id>         its input images
-- KEYS[3] P:queued          sorted set of waiting jobs by score
-- KEYS[4] P:running         sorted set of running jobs by score
-- KEYS[5] P:user:<uid>      set of the user's waiting or running jobs
-- KEYS[6] P:vnext           hash: user -> next round
-- KEYS[7] P:seq             arrival counter
-- KEYS[8] P:undelivered     sorted set of jobs nobody has answered for yet
-- ARGV[1] JSON {id, user, user_limit, max_queue, input_ttl, events, fields = {name = text, ...}}
--         (0 = no cap; events is the pub/sub channel of job changes)
-- ARGV[2], ARGV[3], ... the images as name, bytes pairs: content, <bytes>, style:0, <bytes>, ...
--         and, for an upscale, start, <bytes> (the result it starts from)
-- Returns 'ok', 'user_limit' or 'queue_full'.
local a = cjson.decode(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return 'ok' end -- a retried call whose reply was lost
if a.user_limit > 0 and redis.call('SCARD', KEYS[5]) >= a.user_limit then return 'user_limit' end
if a.max_queue > 0 and redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4]) >= a.max_queue then
  return 'queue_full'
end
local vt = nil
for _, set in ipairs({KEYS[3], KEYS[4]}) do
  local head = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
  if head[2] then
    local round = math.floor(tonumber(head[2]) / 2^24)
    if vt == nil or round < vt then vt = round end
  end
end
if vt == nil then -- idle: every backlog has been served
  redis.call('DEL', KEYS[6])
  vt = 0
end
local round = math.max(vt, tonumber(redis.call('HGET', KEYS[6], a.user) or '0'))
redis.call('HSET', KEYS[6], a.user, round + 1)
local score = string.format('%.17g', round * 2^24 + redis.call('INCR', KEYS[7]) % 2^24)
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('HSET', KEYS[1], 'state', 'queued', 'score', score, 'submitted_at', now)
for name, text in pairs(a.fields) do redis.call('HSET', KEYS[1], name, text) end
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[2], a.input_ttl)
redis.call('ZADD', KEYS[3], score, a.id)
redis.call('SADD', KEYS[5], a.id)
redis.call('ZADD', KEYS[8], now, a.id)
redis.call('PUBLISH', a.events, cjson.encode({id = a.id, k = 'state'}))
return 'ok'
