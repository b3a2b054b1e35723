"""The local runtime: HireProof's SAM template on moto, handlers in-process, a real HTTP socket.

`LocalStack` is the entry point; `python -m hireproof.local serve` runs it until interrupted.
The package imports moto lazily, so importing `hireproof.local.template` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hireproof.local.stack import LocalStack

__all__ = ["LocalStack"]


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from hireproof.local.stack import LocalStack

        return LocalStack
    raise AttributeError(f"module 'hireproof.local' has no attribute {name!r}")
