"""Step Functions callbacks for the task token that Wait For Verification registers on a session."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.sessions.models import Session

logger = Logger(child=True)

# The token no longer belongs to a waiting task: it timed out, the execution ended, or the
# workflow registered a newer token. Nothing the caller can fix, so these are logged.
_STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def send_heartbeat(session: Session) -> bool:
    """Tell the waiting task the hire is active, so the workflow sends no reminder mid-verification.

    Returns False when no token is registered or the token is stale.
    """
    if not session.task_token:
        return False
    try:
        aws.client("stepfunctions").send_task_heartbeat(taskToken=session.task_token)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code not in _STALE_TOKEN_ERRORS:
            raise
        logger.warning("task heartbeat rejected", extra={"session_id": session.session_id, "error": code})
        return False
    return True


def send_decision(session: Session) -> bool:
    """Send a decided session's result to its waiting task; return False when the token is stale.

    A stale token is not retried here: when the workflow waits again it registers a new
    token, and `store.register_task_token` delivers the stored decision to that one.
    """
    if not session.task_token:
        return False
    try:
        aws.client("stepfunctions").send_task_success(
            taskToken=session.task_token, output=json.dumps(session.task_output())
        )
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code not in _STALE_TOKEN_ERRORS:
            raise
        logger.warning("task result rejected", extra={"session_id": session.session_id, "error": code})
        return False
    logger.info(
        "task result sent",
        extra={"session_id": session.session_id, "decision": session.decision},
    )
    return True
