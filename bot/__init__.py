"""stylebot's Discord side: ``client`` (the bot) over ``cogs/`` (front doors), ``requests/`` (what users ask),
``answers/`` (what the bot answers), ``core/`` (what they lean on) and ``words/`` (what they say)."""
