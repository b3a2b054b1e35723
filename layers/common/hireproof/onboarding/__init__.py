"""The hire-to-laptop onboarding: records, effects and the steps the state machine runs."""
