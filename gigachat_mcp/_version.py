"""The package version, kept in one place so nothing reads metadata at import time."""

__version__ = "0.1.0"
