"""How one job runs, whichever queue carries it: the one place that decides outcomes and their words.

Both queues hand their jobs to :func:`execute_batch` - the in-process queue from its event
loop, the Redis worker from inside arq - and get an :class:`Outcome` each back; neither has
failure handling of its own. Here, and only here, a job is validated and run (its bytes become
pictures through :func:`engine.nst.render.render`, the one bytes-in path); its progress is
published at a bounded rate; its time limit is enforced; a job that runs out of GPU memory is
tried once more at a smaller size; and every way a job can end is turned into the sentence its
user reads (a message: key and arguments, :mod:`engine.texts`) and a metrics reason.

The parts, each doing one thing:

* :mod:`.texts` - what users read (messages of :mod:`engine.texts`);
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
from engine.jobs.runtime.device import auto_batch, run, run_batch
from engine.jobs.runtime.outcome import Outcome
from engine.jobs.runtime.supervise import Publish, Task, execute_batch
from engine.jobs.runtime.texts import Message, english, msg, user_limit

__all__ = [
    "MAX_ATTEMPTS", "Control", "Message", "Outcome", "Publish", "Task", "auto_batch", "check_attempts",
    "check_submission", "english", "execute_batch", "msg", "progress_fields", "run", "run_batch", "user_limit",
]
