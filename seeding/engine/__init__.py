"""The engine: runs a plan against a gateway, concurrently, journaled, in shards and processes, into a dump."""
