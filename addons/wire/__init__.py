"""Reading what passes, pure (no flows, no I/O but the body reader's worker): routes, headers,
bodies, compression, stream framing, usage and the gateway's model list."""
