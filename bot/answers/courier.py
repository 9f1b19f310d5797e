"""Answering where the bot is not a member: through the interaction's own webhook instead of its token.

A member who installed stylebot to their account can call ``/style`` and the menus in a server
that never added the bot. Discord lets the app answer there only through the interaction
(its webhook: followups and edits of them, for 15 minutes), not with the bot's token. So such a
job's :class:`~bot.answers.tracker.Delivery` carries the interaction's token, and :func:`channel_for`
gives the tracker a stand-in channel that sends and edits through that webhook, with the same
calls it makes on a real channel (``send``, ``get_partial_message(...).edit/fetch``). A job
that ends after the token has expired cannot be posted there: the tracker then tells the user
by DM that it could not, as when a channel refuses the bot. The token travels in the job's
delivery data (SQLite or Redis) like the channel id, is worth nothing after 15 minutes, and is
never logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from bot.answers.delivery import Delivery
    from bot.core.host import Host


def needs_webhook(bot: Host, interaction: discord.Interaction | None) -> bool:
    """Whether answers to this interaction must go through its webhook: a server the bot is not in."""
    guild_id = interaction.guild_id if interaction is not None else None
    return guild_id is not None and bot.get_guild(guild_id) is None


class WebhookMessage:
    """A message of the interaction's webhook by id, edited and fetched through that webhook."""

    def __init__(self, webhook: discord.Webhook, message_id: int) -> None:
        self.webhook, self.id = webhook, message_id

    async def edit(self, **fields: Any) -> discord.WebhookMessage:
        return await self.webhook.edit_message(self.id, **fields)

    async def fetch(self) -> discord.WebhookMessage:
        return await self.webhook.fetch_message(self.id)

    def to_reference(self, **_: Any) -> None:
        return None  # webhook messages cannot reply; the answer follows the request instead


class WebhookChannel:
    """The channel of a job answered through its interaction's webhook (see the module's docstring)."""

    def __init__(self, bot: Host, where: Delivery) -> None:
        assert where.webhook_token is not None and bot.application_id is not None
        payload = {"id": bot.application_id, "type": 3, "token": where.webhook_token}
        self.webhook = discord.Webhook.from_state(data=payload, state=bot._connection)  # type: ignore[arg-type]
        self.id = where.channel_id

    def get_partial_message(self, message_id: int) -> WebhookMessage:
        return WebhookMessage(self.webhook, message_id)

    async def send(self, content: str, *, reference: Any = None, **fields: Any) -> discord.WebhookMessage:
        return await self.webhook.send(content, wait=True, **fields)


def channel_for(bot: Host, where: Delivery) -> Any:
    """Where a job's answers go: its channel (cached, else a partial one, enough to send and edit, e.g.
    before READY), or its interaction's webhook."""
    if where.webhook_token is not None:
        return WebhookChannel(bot, where)
    return bot.get_channel(where.channel_id) or bot.get_partial_messageable(where.channel_id)
