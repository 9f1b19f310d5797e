"""What users read when a job is refused or ends without a picture."""

from __future__ import annotations

#: What users read when a job is refused or ends without a picture (engine errors speak for themselves).
TEXTS = {
    "user_limit": "you already have {limit} {jobs} in the queue; wait for one to finish or cancel one",
    "queue_full": "the queue is full ({limit} jobs); please try again in a few minutes",
    "closing": "the queue is shutting down; please try again in a minute",
    "gone": "this job is no longer known (finished jobs are kept for a limited time)",
    "result_gone": "the result is no longer available (results are kept {ttl} s)",
    "bad_grid": "a strength grid takes 1 to {cells} positive style-weight factors",
    "still_only": "strength grids and upscales are made of still pictures, not animations",
    "grid_upscale": "a strength grid cannot start from an image; upscale one of its cells instead",
    "internal": "the engine hit an internal error; the admins can see it in the logs",
    "timeout": "the job took longer than {limit:.0f} s and was stopped",
    "oom": "the GPU ran out of memory even at size {size}; try a smaller size",
    "too_large": "size {size} is larger than this worker allows ({side} px)",
    "interrupted": "the job was interrupted {attempts} times (the bot or a worker stopped while running it); "
                   "giving up",
    "expired": "the job's images expired before a worker was free; please submit it again",
    "draft_still": "quick drafts are made of one still photo, not of an animation, a grid or an upscale",
    "bad_try": "a sheet of drafts takes 1 to {most} style images, one caption each",
}


def user_limit_text(limit: int) -> str:
    return TEXTS["user_limit"].format(limit=limit, jobs="job" if limit == 1 else "jobs")
