"""hireproof.recovery.store on template.yaml's RecoveryTable in moto: conditional status changes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hireproof.errors import ConflictError, NotFoundError, ResetAlreadyChosenError
from hireproof.recovery import store
from hireproof.recovery.models import Recovery, RecoveryChannel, RecoveryStatus, ResetKind
from recovery_support import recovery_stack
from template_resources import StackResources


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with recovery_stack() as resources:
        yield resources


def new_recovery() -> Recovery:
    return store.create(
        store.new_recovery_id(),
        person_id="generic-4821",
        session_id="recovery-0123456789abcdef01234567",
        channel=RecoveryChannel.SELF_SERVICE,
        started_by="self-service",
    )


def test_create_starts_in_started_with_retention(stack: StackResources) -> None:
    created = new_recovery()

    stored = store.get(created.recovery_id)
    assert stored.status is RecoveryStatus.STARTED
    assert stored.recovery_id.startswith("rcv-")
    assert stored.channel is RecoveryChannel.SELF_SERVICE
    assert stored.expires_at - stored.created_at == store.RETENTION_SECONDS
    assert stored.reset_kind is None


def test_create_same_id_twice_conflicts(stack: StackResources) -> None:
    created = new_recovery()

    with pytest.raises(ConflictError):
        store.create(
            created.recovery_id,
            person_id="generic-1",
            session_id="recovery-1",
            channel=RecoveryChannel.HELP_DESK,
            started_by="agent",
        )


def test_get_unknown_recovery_is_not_found(stack: StackResources) -> None:
    with pytest.raises(NotFoundError):
        store.get("rcv-unknown")


def test_transition_follows_the_happy_path(stack: StackResources) -> None:
    created = new_recovery()

    verified, moved_verified = store.transition(
        created.recovery_id, RecoveryStatus.VERIFIED, {"decision": "PASSED"}
    )
    chosen = store.choose(created.recovery_id, ResetKind.MFA, "person")
    done, moved_done = store.transition(
        created.recovery_id, RecoveryStatus.RESET_DONE, {"reset_at": 1_800_000_000}
    )
    completed, moved_completed = store.transition(created.recovery_id, RecoveryStatus.COMPLETED)

    assert moved_verified
    assert verified.decision == "PASSED"
    assert chosen.status is RecoveryStatus.RESET_CHOSEN
    assert chosen.reset_kind is ResetKind.MFA
    assert chosen.chosen_by == "person"
    assert moved_done
    assert done.reset_at == 1_800_000_000
    assert moved_completed
    assert completed.status is RecoveryStatus.COMPLETED


def test_transition_repeated_is_not_moved_again(stack: StackResources) -> None:
    created = new_recovery()
    store.transition(created.recovery_id, RecoveryStatus.FAILED)

    again, moved = store.transition(created.recovery_id, RecoveryStatus.FAILED)

    assert not moved
    assert again.status is RecoveryStatus.FAILED


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], RecoveryStatus.RESET_DONE),
        ([], RecoveryStatus.COMPLETED),
        ([RecoveryStatus.FAILED], RecoveryStatus.VERIFIED),
        ([RecoveryStatus.EXPIRED], RecoveryStatus.ERROR),
        ([RecoveryStatus.VERIFIED], RecoveryStatus.FAILED),
    ],
)
def test_transition_from_wrong_status_conflicts(
    stack: StackResources, path: list[RecoveryStatus], target: RecoveryStatus
) -> None:
    created = new_recovery()
    for status in path:
        store.transition(created.recovery_id, status)

    with pytest.raises(ConflictError, match="cannot become"):
        store.transition(created.recovery_id, target)


def test_choose_twice_raises_already_chosen(stack: StackResources) -> None:
    created = new_recovery()
    store.choose(created.recovery_id, ResetKind.PASSWORD, "person")

    with pytest.raises(ResetAlreadyChosenError):
        store.choose(created.recovery_id, ResetKind.MFA, "person")
    assert store.get(created.recovery_id).reset_kind is ResetKind.PASSWORD


def test_choose_after_end_is_conflict_not_already_chosen(stack: StackResources) -> None:
    created = new_recovery()
    store.transition(created.recovery_id, RecoveryStatus.EXPIRED)

    with pytest.raises(ConflictError) as raised:
        store.choose(created.recovery_id, ResetKind.PASSWORD, "person")

    assert not isinstance(raised.value, ResetAlreadyChosenError)
    assert store.get(created.recovery_id).status is RecoveryStatus.EXPIRED


def test_register_choice_token_keeps_status(stack: StackResources) -> None:
    created = new_recovery()
    before = int(time.time())

    registered = store.register_choice_token(created.recovery_id, "token-of-wait-for-reset-choice")

    assert registered.choice_task_token == "token-of-wait-for-reset-choice"
    assert registered.status is RecoveryStatus.STARTED
    assert registered.expires_at >= before + store.RETENTION_SECONDS


def test_register_choice_token_unknown_recovery(stack: StackResources) -> None:
    with pytest.raises(NotFoundError):
        store.register_choice_token("rcv-unknown", "token")
