"""What users read when a job is refused or ends without a picture: messages (keys and arguments).

The keys and their English live in :mod:`engine.texts`; the queue carries the messages, and the
bot renders them in its user's language.
"""

from __future__ import annotations

from engine.texts import Message, english, msg

__all__ = ["Message", "english", "msg", "user_limit"]


def user_limit(limit: int) -> Message:
    return msg("refusal.user_limit", count=limit)
