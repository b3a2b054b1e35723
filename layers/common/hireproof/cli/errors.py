"""Failures of the operator command, as opposed to product failures in `hireproof.errors`."""

from __future__ import annotations


class CommandError(Exception):
    """A command failed in a way the operator can fix; the message names the failure and the fix.

    `main` prints the message on one line to stderr and exits with status 1.
    """
