"""The chain's members, one concern a module, in the chain's order: router, auth, ownership,
metering, limits, send, credentials, errors and timeouts, the access log, metrics, the admin app."""
