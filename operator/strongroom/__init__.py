"""Strongroom: a Kubernetes operator for privileged credential access."""

__version__ = "0.2.0"
