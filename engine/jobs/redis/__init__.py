"""The Redis queue: the bot submits into Redis, ``python -m engine.worker`` processes anywhere run the jobs.

* :mod:`.queue` - :class:`~engine.jobs.redis.queue.RedisJobQueue`, the bot's side (submit, follow, cancel, claim).
* :mod:`.worker` - :class:`~engine.jobs.redis.worker.StyleWorker`, the ``python -m engine.worker`` process:
  arq, warm-up, heartbeats, putting back the jobs of vanished workers.
* :mod:`.runner` - :class:`~engine.jobs.redis.runner.JobRunner`, what a worker does with one token: take
  jobs under a lease, run them through :mod:`engine.jobs.runtime`, store their outcomes.
* :mod:`.settings` - :class:`~engine.jobs.redis.settings.WorkerSettings`, read by the worker and its runner.
* :mod:`.store` - the key layout and the scripts; ``lua/`` - one file per atomic state change.

How arq is used, through its public API only. A job lives in stylebot's own keys (its hash,
its inputs, the fair-order sorted sets, a lease), changed only by the Lua scripts. arq runs
the worker loop - polling, ``max_jobs`` concurrency, signal handling, graceful stop - on
*wake-up tokens*: for every job the bot queues it enqueues one token with
``ArqRedis.enqueue_job``, and each worker registers one function (``next_job``) with
``arq.worker.func``. A token carries nothing: the worker that runs it takes whichever job is
first in the fair order (``take.lua``), which arq's own first-come-first-served queue could
not give. So tokens and jobs need not match one to one; a token that finds nothing does
nothing. Where a token can go missing - a worker killed mid-job (its token stays "in
progress" until arq's own timeout), or a bot killed between queueing a job and its token -
the live workers, which put such jobs back in line (``reap.lua``), enqueue a fresh token for
each, and one more when they sat idle while jobs waited. arq's keys (``P:arq``, ``arq:*``)
are written by arq alone.
"""
