"""pipnexus: route a CI job's Python package downloads through an in-cluster Nexus PyPI proxy."""

__version__ = "1.0.0"

# The GitHub repository of the composite action (what `uses:` names); one place to change it.
ACTION_REPOSITORY = "pipnexus/pipnexus"
