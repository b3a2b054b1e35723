"""`python -m hireproof.cli`, the same as the `hireproof` console script."""

from __future__ import annotations

import sys

from hireproof.cli import main

if __name__ == "__main__":
    sys.exit(main())
