"""The package's version, in a module of its own so that any module can name it without importing
the package root (which imports the client: a circle)."""

__version__ = "0.1.0"
