"""The one exception type the CLI turns into a clear one-line error."""


class MovekitError(Exception):
    """A user-facing error: the message is printed as one line on stderr, exit status 2.

    Raise it (or a subclass) for bad input a user can fix: a missing file, an
    unreadable video, a recording that already exists. Programming errors stay
    ordinary exceptions with a traceback.
    """
