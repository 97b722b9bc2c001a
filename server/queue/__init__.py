"""The call queue, free of sockets and HTTP: calls, presence, dispatch, timers
and the lifecycle verbs."""
