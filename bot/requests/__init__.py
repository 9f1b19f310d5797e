"""What a user asks: who and where (``origin``), the options, the input images and links, avatars and embeds,
sizes that fit, the style picker, the limits of a busy channel (``fairness``), and the intake: the one path from
any request to a queued job."""
