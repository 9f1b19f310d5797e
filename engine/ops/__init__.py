"""Operating the bot and its workers: logs, Prometheus metrics, the container health check."""
