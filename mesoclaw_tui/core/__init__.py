"""The router's domain: pure, synchronous, stdlib only, no I/O."""
