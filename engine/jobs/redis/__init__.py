"""The Redis queue: the bot submits into Redis, ``python -m engine.worker`` processes run the jobs."""
