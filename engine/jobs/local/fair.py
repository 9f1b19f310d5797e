"""Start-time fair queueing: the order in which the local queue runs its waiting jobs.

A job's round is one past its owner's previous job's round, but never behind the round now
being served; jobs run by (round, arrival). So users take turns, and a user whose job just
started does not jump ahead of someone who has had none. Rounds and arrivals are kept with
each job in the journal, so the order survives a restart.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar


class Placed(Protocol):
    """A job as the order sees it: whose it is, and its place."""

    user_id: int
    round: int
    arrival: int


J = TypeVar("J", bound=Placed)


def _place(job: Placed) -> tuple[int, int]:
    return job.round, job.arrival


class FairOrder(Generic[J]):
    """The waiting jobs, first to run first."""

    def __init__(self) -> None:
        self._line: list[J] = []  # sorted by (round, arrival)
        self._last_round: dict[int, int] = {}  # each user's latest round, while it is not behind
        self._round = 0  # round of the job started last
        self._next_arrival = 0

    def place(self, user_id: int) -> tuple[int, int]:
        """The round and arrival of a new job of ``user_id``."""
        return max(self._round, self._last_round.get(user_id, -1) + 1), self._next_arrival

    def seen(self, arrival: int) -> None:
        """A job of this arrival exists (waiting or not): later jobs arrive after it."""
        self._next_arrival = max(self._next_arrival, arrival + 1)

    def add(self, job: J) -> None:
        """Put a waiting job in its place: a new one, or one read back from the journal."""
        self.seen(job.arrival)
        self._last_round[job.user_id] = max(self._last_round.get(job.user_id, -1), job.round)
        bisect.insort(self._line, job, key=_place)

    def put_back(self, job: J) -> None:
        """A job stopped before its end waits again, in the place it had."""
        bisect.insort(self._line, job, key=_place)

    def resume(self) -> None:
        """After a restart: the round being served is that of the first job in line."""
        if self._line:
            self._round = self._line[0].round

    def pop(self) -> J | None:
        """The next job to run, out of line; None when none waits."""
        if not self._line:
            return None
        job = self._line.pop(0)
        self._round = job.round
        # users whose last round is behind the current one get the current round anyway: forget them
        self._last_round = {u: r for u, r in self._last_round.items() if r >= self._round}
        return job

    def remove(self, job: J) -> None:
        self._line.remove(job)

    def index(self, job: J) -> int:
        """Jobs ahead of ``job`` (0: it runs next)."""
        return self._line.index(job)

    def __contains__(self, job: object) -> bool:
        return job in self._line

    def __iter__(self) -> Iterator[J]:
        return iter(list(self._line))

    def __len__(self) -> int:
        return len(self._line)
