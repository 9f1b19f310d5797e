"""The words: the message catalogue (``i18n``, ``locale/``), which language to speak to whom (``language``),
and the slash commands' names in every language (``translator``)."""
