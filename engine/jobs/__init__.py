"""The job queue: how a stylization request travels from the bot to the engine and back.

* :mod:`engine.jobs.contract` - the :class:`JobQueue` interface the bot talks to.
* :mod:`engine.jobs.runtime` - how one job runs, whichever queue carries it.
* :mod:`engine.jobs.local` - the default queue: in-process executor.
* :mod:`engine.jobs.redis` - the scale-out queue: Redis, with workers anywhere.
"""

from engine.jobs.contract import JobHandle, JobQueue, JobResult, JobSpec, JobState, JobStatus
from engine.jobs.report import JobReport, Kind

__all__ = ["JobHandle", "JobQueue", "JobReport", "JobResult", "JobSpec", "JobState", "JobStatus", "Kind"]
