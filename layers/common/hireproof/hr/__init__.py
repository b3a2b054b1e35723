"""HR intake: verify HR webhooks, normalize them into a Hire, and start one onboarding per hire.

Modules: `sources` (signatures and delivery ids per HR system), `mapping` (payload to Hire),
`directory` (the HR directory that thin webhooks are completed from), `keys` (webhook keys
from Secrets Manager) and `intake` (store the hire, start the onboarding execution).
"""
