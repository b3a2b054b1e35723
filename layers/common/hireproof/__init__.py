"""HireProof: verify the real person behind a new hire, before and after access is granted."""

__version__ = "0.1.0"
