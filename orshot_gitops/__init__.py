"""orshot-gitops: social posts as code, published through the Orshot API from git."""

__version__ = "0.1.0"
