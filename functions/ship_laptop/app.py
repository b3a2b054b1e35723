"""Onboarding step "Ship Laptop": order the laptop to the verified address, once."""

from hireproof.onboarding import steps
from hireproof.onboarding.handler import step_handler

lambda_handler = step_handler(steps.ship_laptop)
