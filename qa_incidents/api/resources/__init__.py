"""API resources: each module declares its operations with registry.operation."""
