"""pkgdepot: a private and caching Python package index server."""

__version__ = "0.1.0"
