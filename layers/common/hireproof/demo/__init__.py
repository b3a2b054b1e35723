"""`make demo`: the onboarding scenarios, end to end on the local stack.

The demo plays every outside party over real sockets: the HR system posting
signed webhooks, the hire's phone opening the e-mailed link and uploading
photographs, a reviewer calling the IAM-signed review route, and the carrier
confirming delivery through the fake fulfillment service.
"""
