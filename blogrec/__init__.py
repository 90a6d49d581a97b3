"""blogrec: related posts, tag suggestions and topic clusters for static-site blogs."""

__version__ = "0.1.0"
