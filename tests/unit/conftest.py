"""Unit tests run with sockets disabled (pytest-socket)."""

from __future__ import annotations

import os

# Powertools' Tracer imports the X-Ray SDK, whose emitter opens a UDP socket when the SDK is
# first imported. Import it here, before pytest-socket blocks sockets in each test, and turn
# tracing off so no segment is ever sent.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
from aws_xray_sdk.core import xray_recorder  # noqa: F401
