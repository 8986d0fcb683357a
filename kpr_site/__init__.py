"""kpr-site: the static site generator of the Kommunaler Präventionsrat des Landkreises Rostock."""

__version__ = "0.1.0"
__all__ = ["__version__"]
