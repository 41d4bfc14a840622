"""digest: self-hosted research-paper digests (email + RSS/Atom) of the new papers that match."""

__version__ = "0.1.0"
