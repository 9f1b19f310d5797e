"""The front doors: one cog per feature (style, library, admin, help, menus, queue). Each parses what was typed
or clicked and hands it to a request; none paints, posts results or keeps state of its own."""
