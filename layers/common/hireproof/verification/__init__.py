"""Verify that the person in a selfie is the holder of a photo ID, and decide on the result.

`engine` defines the interface and the measurements, `policy.decide` turns measurements into
PASSED, FAILED or NEEDS_REVIEW. Engines: `local_engine.LocalEngine` (face_recognition, needs
the `local` extra) and `rekognition_engine.RekognitionEngine` (Amazon Rekognition and
Textract). Import an engine from its module, so that the Lambda layer never loads dlib.
"""

from hireproof.verification.engine import (
    EngineResult,
    Evidence,
    HireFacts,
    LivenessStatus,
    VerificationEngine,
)
from hireproof.verification.policy import PolicySettings, VerificationDecision, decide
from hireproof.verification.reasons import DecisionReason, RetakeReason

__all__ = [
    "DecisionReason",
    "EngineResult",
    "Evidence",
    "HireFacts",
    "LivenessStatus",
    "PolicySettings",
    "RetakeReason",
    "VerificationDecision",
    "VerificationEngine",
    "decide",
]
