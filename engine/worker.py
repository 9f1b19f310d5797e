"""``python -m engine.worker``: a GPU worker of the Redis queue (see :mod:`engine.jobs.redis.worker`)."""

from engine.jobs.redis.worker import main

if __name__ == "__main__":
    main()
