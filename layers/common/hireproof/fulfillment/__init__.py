"""Laptop fulfillment: signed orders to the fulfillment service and delivery callbacks.

`adapter` talks to the service, and `shipments` records each shipment on the onboarding
and resumes the workflow once per shipment when the service reports its outcome.
"""
