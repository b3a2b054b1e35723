"""Onboarding step "Assess Shipping Address": record laptop-farm signals of the requested address."""

from hireproof.onboarding import steps
from hireproof.onboarding.handler import step_handler

lambda_handler = step_handler(steps.assess_shipping_address)
