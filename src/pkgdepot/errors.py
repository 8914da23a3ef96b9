"""The one exception hierarchy. Raised anywhere, mapped to HTTP once in ``web/errors.py``."""


class PkgdepotError(Exception):
    """Base of every error pkgdepot raises on purpose; ``message`` is shown to the client."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PkgdepotError):
    status = 400


class Unauthorized(PkgdepotError):
    """No (valid) credentials were given for something that needs them."""

    status = 401


class Forbidden(PkgdepotError):
    status = 403


class NotFound(PkgdepotError):
    status = 404


class NotAcceptable(PkgdepotError):
    status = 406


class Conflict(PkgdepotError):
    status = 409


class Gone(PkgdepotError):
    status = 410


class TooLarge(PkgdepotError):
    status = 413


class UpstreamUnavailable(PkgdepotError):
    status = 502


class ConfigError(Exception):
    """A setting is unknown or has a value of the wrong kind."""
