"""pipnexus: route a CI job's Python package downloads through an in-cluster Nexus PyPI proxy."""

__version__ = "1.0.0"
