"""Onboarding step "Issue Credentials": activate the account, keep its first credential for the hire."""

from hireproof.onboarding import steps
from hireproof.onboarding.handler import step_handler

lambda_handler = step_handler(steps.issue_credentials)
