"""Errors a user can fix; the command line prints them as one line, with no traceback."""


class TourError(Exception):
    """A problem with the user's input: files, options or settings."""


class SettingsError(TourError):
    """A deployment setting (an option or TOUR_* variable) has a bad value."""
