"""Password and MFA recovery, authorized only by a fresh verification against the HR record.

A recovery starts in one of two channels:

- self-service: the person types their work e-mail at /recovery. An unknown or ineligible
  e-mail gets a decoy session (`hireproof.sessions.interactive`) and no recovery at all;
- help desk: an IAM-authorized agent starts it for a caller, who gets a single-use link by
  e-mail.

The person then verifies on the ordinary verification page. statemachines/recovery.asl.json
waits for the decision, then for the reset choice (the person's own, or the agent's), and
performs exactly one reset per verification. The credential is shown once to the verified
person, the manager and security are notified, and the person's risk is MEDIUM for
RecoveryRiskHoldSeconds.

Modules: `models` (records and route shapes), `store` (the recovery table), `requests`
(starting and describing recoveries), `choice` (the reset choice and its task token),
`steps` (the workflow's steps) and `notices` (the manager's e-mail).
"""
