"""`make demo`: the onboarding scenarios, end to end on the local stack.

The demo plays every outside party over real sockets. The HR system posts signed
webhooks, and the hire's phone opens the e-mailed link and uploads photographs. A
reviewer calls the IAM-signed review route, and the carrier confirms delivery through
the fake fulfillment service.
"""
