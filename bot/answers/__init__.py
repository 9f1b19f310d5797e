"""What the bot answers: the status message (``progress``), every embed, the buttons, uploads that fit, the
webhook courier, one table of how each kind of result looks (``results``), and the tracker that follows a job."""
