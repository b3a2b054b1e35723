"""Verification sessions: e-mailed invitations, the hire-facing API and one-time credentials.

- `store`: the verification table (invite, token lookup, attempts, decision, credential);
- `service`: what each route of the verification API does;
- `evaluation`: the engine and policy settings chosen from the environment;
- `evidence`, `mail`, `tasks`: S3 images, SES e-mails and Step Functions callbacks.
"""
