"""Developer tools: demo history and console screenshots. Not part of the installed package."""
