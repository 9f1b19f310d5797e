"""What the bot answers: the status message (``progress``), every embed, the buttons, uploads that fit, the
webhook courier, one table of how each kind of result looks (``results``), what made a result (``parameters``),
and the tracker that follows a job."""
