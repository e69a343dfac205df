"""What the chain's members are given: the key cache, the limiters (in memory and in Redis), the
usage writer, the price book, the calls in flight."""
