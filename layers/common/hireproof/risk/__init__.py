"""Risk signals about active people, and the risk state they leave on the person's ACCESS item.

- `models`: RiskEvent, the one shape every risk source produces, and the `RiskLevelChanged`
  EventBridge event that carries it;
- `bus`: publishes a RiskEvent on HireProof's event bus;
- `state`: applies a RiskEvent to the person's ACCESS item at most once per event id, newest event last;
- `ssf`: receives OpenID Shared Signals (CAEP and RISC) Security Event Tokens pushed over HTTP;
- `signals`: laptop-farm signals from consecutive logins (impossible travel, country, network).
"""
