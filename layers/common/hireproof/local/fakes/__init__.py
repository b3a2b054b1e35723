"""Local stand-ins for the external services HireProof calls, served on 127.0.0.1 only.

Each fake is an HTTPS server on a random free port with a certificate from a throwaway CA.
`start()` returns the template parameter overrides that point the stack at it, `stop()`
shuts it down, and `calls` records every request for assertions. Identity providers:
`hireproof.local.fakes.okta.FakeOkta` and `hireproof.local.fakes.entra.FakeEntra`; their
`secret_value()` is the JSON object to store in the identity provider secret.
"""
