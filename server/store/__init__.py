"""Storage: the Redis connection (or the embedded server), every key, the Lua
scripts, the bus between hubs."""
