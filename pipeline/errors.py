"""Errors the user can fix. The CLI prints them as one line, without a traceback."""


class S2QError(Exception):
    """An expected fault (bad file, unknown model, no device): shown as one line, exit 1."""


class AudioDecodeError(S2QError):
    pass


class ModelNotFoundError(S2QError):
    pass


class DeviceError(S2QError):
    pass


class WebServerError(S2QError):
    """The web panel cannot start (port taken, address not available)."""
