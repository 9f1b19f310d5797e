-- Graceful shutdown: the owner gives up its job's lease early, and this run does not count as
-- an attempt. reap.lua then puts the job back in line, first again (it keeps its score).
--
-- KEYS[1] P:job:<id>        the job's hash
-- KEYS[2] P:lease:<id>      the lease (deleted)
-- ARGV[1] JSON {token}
-- Returns 1, or 0 if the caller no longer owns the job.
local a = cjson.decode(ARGV[1])
if redis.call('HGET', KEYS[1], 'owner') ~= a.token or redis.call('HGET', KEYS[1], 'state') ~= 'running' then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
redis.call('DEL', KEYS[2])
return 1
