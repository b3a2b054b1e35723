"""Evidence images in S3: presigned uploads, loading for evaluation and deletion after a decision.

Keys are `evidence/<session_id>/<kind>-<uuid>`, so one prefix contains every image of a
session, retakes included, and one listing finds them all for deletion.
"""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import PayloadTooLargeError, TransientError
from hireproof.sessions.models import EvidenceKind

logger = Logger(child=True)

# Rekognition reads S3 objects up to 15 MB; larger photos are rejected at upload by S3 itself.
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
UPLOAD_URL_SECONDS = 600
_DELETE_BATCH = 1000  # the DeleteObjects limit


def prefix_for(session_id: str) -> str:
    """Return the key prefix of every evidence object of one session."""
    return f"evidence/{session_id}/"


def new_key(session_id: str, kind: EvidenceKind) -> str:
    """Return a fresh object key for one upload; a retake gets a new key, never overwrites."""
    return f"{prefix_for(session_id)}{kind.value}-{uuid.uuid4()}"


def presigned_post(key: str, content_type: str) -> dict[str, Any]:
    """Create a presigned POST for one image of 1 byte to 15 MB with exactly this content type."""
    post: dict[str, Any] = aws.client("s3").generate_presigned_post(
        Bucket=require_env("EVIDENCE_BUCKET"),
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            ["content-length-range", 1, MAX_UPLOAD_BYTES],
            {"Content-Type": content_type},
        ],
        ExpiresIn=UPLOAD_URL_SECONDS,
    )
    return post


def load(key: str) -> bytes | None:
    """Return one evidence object's bytes, or None when it was never uploaded."""
    try:
        response = aws.client("s3").get_object(Bucket=require_env("EVIDENCE_BUCKET"), Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
            return None
        raise
    if response["ContentLength"] > MAX_UPLOAD_BYTES:
        raise PayloadTooLargeError("evidence image is over 15 MB", field=key.rsplit("/", 1)[-1])
    body: bytes = response["Body"].read()
    return body


def delete_all(session_id: str) -> int:
    """Delete every evidence object of one session and return how many were deleted."""
    bucket = require_env("EVIDENCE_BUCKET")
    s3 = aws.client("s3")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix_for(session_id)):
        keys.extend(item["Key"] for item in page.get("Contents", []))

    for start in range(0, len(keys), _DELETE_BATCH):
        batch = keys[start : start + _DELETE_BATCH]
        response = s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
        )
        if response.get("Errors"):
            # The bucket's one-day lifecycle rule still removes what this call could not.
            codes = sorted({error.get("Code", "") for error in response["Errors"]})
            logger.error(
                "evidence deletion incomplete",
                extra={"session_id": session_id, "failed": len(batch), "errors": codes},
            )
            failed = len(response["Errors"])
            raise TransientError(f"S3 did not delete {failed} evidence objects; retry")
    logger.info("evidence deleted", extra={"session_id": session_id, "objects": len(keys)})
    return len(keys)
