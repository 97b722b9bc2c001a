"""The REST API: thin routes and their dependencies."""
