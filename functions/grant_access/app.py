"""Onboarding step "Grant Access": add the account to its groups."""

from hireproof.onboarding import steps
from hireproof.onboarding.handler import step_handler

lambda_handler = step_handler(steps.grant_access)
