"""Onboarding step "Stage Account": create the account inactive at the identity provider."""

from hireproof.onboarding import steps
from hireproof.onboarding.handler import step_handler

lambda_handler = step_handler(steps.stage_account)
