"""``python -m tests.support.botprocess API_URL GATEWAY_URL``: the real ``python -m bot``, aimed at a loopback Discord.

discord.py reads its REST base and gateway from two class attributes; this sets them in a
fresh process, then runs the bot's own ``main()`` - settings from the environment, SIGTERM
handling, everything - so a test can kill a real bot process, SIGKILL included.
"""

from __future__ import annotations

import sys

import discord.gateway
import discord.http
import yarl

from bot.__main__ import main

if __name__ == "__main__":
    discord.http.Route.BASE = sys.argv[1]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[2])
    sys.exit(main())
