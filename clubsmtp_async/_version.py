"""The package version, read by the build backend and sent in the User-Agent."""

__all__ = ["__version__"]

__version__ = "0.1.0"
