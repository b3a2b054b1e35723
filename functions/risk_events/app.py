"""EventBridge target for `RiskLevelChanged`: apply the event to the person's risk, then respond.

The subject is the detail's person_id, or the person whose work e-mail the detail names. An
event whose subject has no onboarding in HireProof, or whose onboarding is not ACTIVE yet,
is audited and dropped without an error. Any other failure raises, so Lambda retries the event and then
puts it in RiskEventsDeadLetterQueue, whose alarm notifies security.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from hireproof.access import persons
from hireproof.errors import ConflictError, InvalidRequestError, NotFoundError
from hireproof.models import OnboardingState
from hireproof.risk import effects
from hireproof.risk.models import RiskEvent, risk_event_from_eventbridge
from hireproof.risk.state import apply_risk_event

logger = Logger()
tracer = Tracer()


def _resolve(event: RiskEvent) -> persons.Person | None:
    if event.person_id is not None:
        try:
            return persons.get_person(event.person_id)
        except NotFoundError:
            return None
    return persons.find_by_email(str(event.email)) if event.email is not None else None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        risk_event = risk_event_from_eventbridge(event)
    except InvalidRequestError as exc:
        # A retry cannot fix it; the event goes to the dead-letter queue, and this line records why.
        logger.error(
            "invalid risk event",
            extra={"eventbridge_id": event.get("id"), "field": exc.field, "error": exc.message},
        )
        raise
    logger.append_keys(event_id=risk_event.event_id, risk_level=risk_event.level.value)

    person = _resolve(risk_event)
    if person is None:
        effects.record_unknown_subject(risk_event)
        return {"status": "unknown_subject"}
    logger.append_keys(person_id=person.person_id)
    if person.onboarding_state != OnboardingState.ACTIVE.value:
        effects.record_inactive_subject(risk_event, person.person_id, person.onboarding_state)
        return {"status": "onboarding_not_active"}

    try:
        outcome = apply_risk_event(risk_event, person_id=person.person_id)
    except ConflictError:
        # The onboarding left ACTIVE between the read above and the write.
        effects.record_inactive_subject(risk_event, person.person_id, person.onboarding_state)
        return {"status": "onboarding_not_active"}
    response = effects.respond_to_risk(person.person_id, outcome, risk_event)

    logger.info(
        "risk event handled", extra={"apply_status": outcome.status, "actions": list(response.actions)}
    )
    return {
        "status": outcome.status,
        "person_id": person.person_id,
        "level": outcome.level.value,
        "actions": list(response.actions),
        "reasons": list(response.reasons),
    }
