-- End a job, once: its owner reports the outcome (token given), or anyone cancels it (token '').
-- A cancel of a job that a live worker holds only flags it: the worker stops at its next step
-- and ends the job itself. A waiting job, or a running one whose worker vanished, ends now.
--
-- KEYS[1] P:job:<id>        the job's hash; expires ttl seconds after the end
-- KEYS[2] P:in:<id>         its input images (deleted)
-- KEYS[3] P:res:<id>        the result PNG (written, with the same ttl)
-- KEYS[4] P:queued          KEYS[5] P:running     (the job leaves both)
-- KEYS[6] P:user:<uid>      the owner's set of waiting or running jobs
-- KEYS[7] P:lease:<id>      the lease (deleted)
-- KEYS[8] P:runs            run times of the last finished jobs, newest first (the ETAs' basis)
-- ARGV[1] JSON {id, token, state, error, ttl, report, run_s, keep, events, cancels}
--         state: done, failed or cancelled; report: JSON text or ''; run_s: seconds or '';
--         keep: how many run times P:runs holds
--         cancels: the pub/sub channel workers listen to for cancels
-- ARGV[2] the result PNG, or ''
-- Returns 'ended', 'signalled' (the live owner was told to stop), 'finished' (it was over
-- already) or 'not_owner' (the caller's lease was lost; another worker runs the job now).
local a = cjson.decode(ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'running' then return 'finished' end
if a.token ~= '' then
  if redis.call('HGET', KEYS[1], 'owner') ~= a.token then return 'not_owner' end
elseif state == 'running' and redis.call('EXISTS', KEYS[7]) == 1 then
  redis.call('HSET', KEYS[1], 'cancel', a.error)
  redis.call('PUBLISH', a.cancels, cjson.encode({id = a.id, reason = a.error}))
  return 'signalled'
end
if a.report ~= '' then redis.call('HSET', KEYS[1], 'report', a.report) end
if ARGV[2] ~= '' then redis.call('SET', KEYS[3], ARGV[2], 'EX', a.ttl) end
if a.run_s ~= '' then -- recorded only: the bot averages them (engine.jobs.contract.average_run_s)
  redis.call('LPUSH', KEYS[8], a.run_s)
  redis.call('LTRIM', KEYS[8], 0, a.keep - 1)
end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'state', a.state, 'error', a.error, 'finished_at', t[1] * 1000 + math.floor(t[2] / 1000))
redis.call('HDEL', KEYS[1], 'owner', 'preview')
redis.call('EXPIRE', KEYS[1], a.ttl)
redis.call('DEL', KEYS[2], KEYS[7])
redis.call('ZREM', KEYS[4], a.id)
redis.call('ZREM', KEYS[5], a.id)
redis.call('SREM', KEYS[6], a.id)
redis.call('PUBLISH', a.events, cjson.encode({id = a.id, k = 'state'}))
return 'ended'
