"""``python -m bot``: read the settings, build the queue and the store, run until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import aiohttp
import discord

from bot.client import StyleBot
from bot.core.engine_check import missing_engine_text
from bot.core.errors import DISCORD_TOKEN
from bot.core.settings import BotSettings
from bot.core.store import GuildStore
from engine.jobs import JobQueue
from engine.ops import logs, metrics
from engine.ops.settings import load_settings

log = logging.getLogger("bot")

NO_TOKEN = "stylebot: DISCORD_TOKEN is not set; set it in the environment or in .env (see .env.example)"


def build_queue(settings: BotSettings) -> JobQueue:
    """Redis workers when REDIS_URL is set, else jobs run in this process (kept in DATABASE_PATH).

    Either queue takes the settings whole as its :class:`~engine.jobs.settings.QueueSettings`; the
    local queue takes them whole as its :class:`~engine.jobs.settings.RunnerSettings` too (in Redis
    mode the workers' own say how jobs run).
    """
    preview_every = settings.preview_every if settings.preview else 0
    if settings.redis_url:
        from engine.jobs.redis.queue import RedisJobQueue  # only Redis deployments need arq/redis

        return RedisJobQueue(settings.redis_url, settings, preview_every=preview_every)
    from engine.jobs.local import LocalJobQueue

    return LocalJobQueue(settings, settings, workers=settings.workers, preview_every=preview_every,
                         database_path=settings.database_path, calibrate=True)


async def run(settings: BotSettings) -> int:
    """Run the bot until SIGTERM/SIGINT, which start :meth:`StyleBot.shutdown`; the exit status."""
    assert settings.discord_token is not None
    bot = StyleBot(settings, build_queue(settings), GuildStore(settings.database_path))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        return await _run_until(bot, stop, settings)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def _run_until(bot: StyleBot, stop: asyncio.Event, settings: BotSettings) -> int:
    assert settings.discord_token is not None
    runner = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()), name="bot")
    stopper = asyncio.create_task(stop.wait(), name="wait-for-signal")
    done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if stopper in done:
        await bot.shutdown(settings.drain_timeout_s)
        await asyncio.gather(runner, return_exceptions=True)
        return 0
    stopper.cancel()
    try:
        runner.result()
    except discord.LoginFailure:
        log.error("Discord refused DISCORD_TOKEN; check the token in the developer portal")
        return 1
    except (OSError, aiohttp.ClientError) as exc:
        log.error("cannot reach Discord: %s", exc)
        return 1
    finally:
        await bot.close()
    return 0


def main() -> int:
    try:
        settings = load_settings(BotSettings)
    except SystemExit as exc:  # the bad setting is named on stderr already
        return int(exc.code or 2)
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        print(NO_TOKEN, file=sys.stderr)
        return 2
    if no_engine := missing_engine_text(settings.redis_url):  # a bot-only install on the local queue
        print(no_engine, file=sys.stderr)
        return 2
    token = settings.discord_token.get_secret_value()
    logs.register_secret(token)
    logs.register_pattern(DISCORD_TOKEN)  # any token, not only ours, e.g. one pasted into a message
    logs.setup_logging(settings.log_level, json=settings.log_format == "json")
    if settings.metrics_port is not None:
        metrics.start_metrics_server(settings.metrics_port)
    log.info("starting (queue: %s, database: %s)", "redis" if settings.redis_url else "local",
             settings.database_path)
    return asyncio.run(run(settings))


if __name__ == "__main__":
    sys.exit(main())
