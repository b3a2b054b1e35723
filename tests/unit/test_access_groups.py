"""Groups granted to a verified hire from the ACCESS_GROUPS setting."""

from __future__ import annotations

import pytest

from hireproof.errors import ConfigurationError
from hireproof.onboarding.steps import access_groups


def test_access_groups_everyone_plus_department(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_GROUPS", '{"*": ["verified"], "Engineering": ["eng", "verified"]}')
    assert access_groups("Engineering") == ["verified", "eng"]
    assert access_groups("Sales") == ["verified"]
    assert access_groups(None) == ["verified"]


@pytest.mark.parametrize("raw", ["not json", "[1, 2]"])
def test_access_groups_invalid_setting_raises(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ACCESS_GROUPS", raw)
    with pytest.raises(ConfigurationError, match="ACCESS_GROUPS"):
        access_groups("Engineering")
