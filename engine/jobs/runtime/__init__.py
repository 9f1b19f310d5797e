"""How one job runs, whichever queue carries it: the one place that decides outcomes and their words.

Both queues hand a job to :func:`execute` - the in-process queue from its event loop, the
Redis worker from inside arq - and get an :class:`Outcome` back; neither has failure
handling of its own. Here, and only here, a job is decoded, validated, stylized and
encoded; its progress is published at a bounded rate; its time limit is enforced; a job
that runs out of GPU memory is tried once more at a smaller size; and every way a job can
end is turned into the sentence its user reads (:data:`TEXTS`) and a metrics reason.

The parts, each doing one thing:

* :mod:`.texts` - what users read (:data:`TEXTS`);
* :mod:`.checks` - what is checked when a job is submitted, and before it starts again;
* :mod:`.control` - a running job as its engine thread and its queue share it;
* :mod:`.outcome` - how a job ended, and the metrics reason of what stopped it;
* :mod:`.device` - how a job runs on the device (blocking), with its out-of-memory fall-backs;
* :mod:`.supervise` - how a running job is supervised: its thread, progress, time limit, count.

What a job paints - one picture with a first look in seconds, an upscale, or a strength
grid - is :mod:`engine.jobs.paint`'s business; this package decides how the job ends.
Importing it loads no torch.
"""

from engine.jobs.runtime.checks import MAX_ATTEMPTS, check_attempts, check_submission
from engine.jobs.runtime.control import Control, progress_fields
from engine.jobs.runtime.device import AUTO_BATCH_CUDA, OOM_SHRINK, auto_batch, run, run_batch
from engine.jobs.runtime.outcome import Outcome, failure_reason, is_out_of_memory
from engine.jobs.runtime.supervise import PUBLISH_EVERY_S, STOP_GRACE_S, Publish, Task, execute, execute_batch
from engine.jobs.runtime.texts import TEXTS, user_limit_text

__all__ = [
    "AUTO_BATCH_CUDA", "MAX_ATTEMPTS", "OOM_SHRINK", "PUBLISH_EVERY_S", "STOP_GRACE_S", "TEXTS", "Control",
    "Outcome", "Publish", "Task", "auto_batch", "check_attempts", "check_submission", "execute", "execute_batch",
    "failure_reason", "is_out_of_memory", "progress_fields", "run", "run_batch", "user_limit_text",
]
