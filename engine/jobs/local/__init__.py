"""The default JobQueue: jobs run in a bounded thread pool inside this process, and are kept on disk.

* :mod:`.queue` - :class:`LocalJobQueue`: submits, runs on this process's device, the journal.
* :mod:`.fair` - :class:`~engine.jobs.local.fair.FairOrder`: users take turns (start-time fair queueing).
* :mod:`.handle` - :class:`LocalJobHandle`: one job as its followers see it.
"""

from engine.jobs.local.handle import LocalJobHandle
from engine.jobs.local.queue import LocalJobQueue

__all__ = ["LocalJobHandle", "LocalJobQueue"]
