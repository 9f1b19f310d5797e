-- The owner of a running job renews its lease and, when it has some, publishes its progress.
--
-- KEYS[1] P:job:<id>        the job's hash
-- KEYS[2] P:lease:<id>      the lease: while it exists, the owner is alive
-- ARGV[1] JSON {id, token, lease_ms, events, progress = {step, total, losses, frame, frames} or absent}
--         (losses is JSON text)
-- ARGV[2] a small JPEG preview, or '' for none
-- Returns {1, cancel reason or ''} while the caller owns the job; {0, ''} once it does not (the
-- job was reaped after the lease ran out, or ended): the caller must then let it go.
local a = cjson.decode(ARGV[1])
if redis.call('HGET', KEYS[1], 'owner') ~= a.token or redis.call('HGET', KEYS[1], 'state') ~= 'running' then
  return {0, ''}
end
redis.call('SET', KEYS[2], a.token, 'PX', a.lease_ms)
if a.progress then
  redis.call('HSET', KEYS[1], 'step', a.progress.step, 'total', a.progress.total, 'losses', a.progress.losses,
             'frame', a.progress.frame or 0, 'frames', a.progress.frames or 0)
  if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'preview', ARGV[2]) end
  redis.call('PUBLISH', a.events, cjson.encode({id = a.id, k = 'progress'}))
end
return {1, redis.call('HGET', KEYS[1], 'cancel') or ''}
