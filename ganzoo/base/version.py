"""ganzoo's version, for the modules that record or print it (`ganzoo.__version__` hands it on)."""

__version__ = "0.1.0"
