"""Business operations that views and commands call, each one transaction."""
