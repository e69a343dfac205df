"""The process: the entry point that builds the chain, the lean master that runs it, the
chain itself, the patches to mitmproxy, the workers, mitmweb, memory."""
