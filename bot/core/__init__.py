"""What everything in ``bot/`` leans on: settings, errors, the guild store and its records, the style library,
spoilers, and the small ``Host`` protocol the cogs and helpers see the bot through."""
