-- Exactly one reply per job: the first claimer's token wins (a retried call with the same
-- token still wins), and the job leaves the list of jobs nobody has answered for.
--
-- KEYS[1] P:job:<id>        the job's hash
-- KEYS[2] P:undelivered     sorted set of jobs nobody has answered for yet
-- ARGV[1] JSON {id, token}
-- Returns 1 to the winner, 0 to everybody else (and when the job is gone).
local a = cjson.decode(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[1], 'delivered', a.token)
if redis.call('HGET', KEYS[1], 'delivered') ~= a.token then return 0 end
redis.call('ZREM', KEYS[2], a.id)
return 1
