"""Code shared by Echo's Lambda functions (shipped as the `shared` Lambda layer)."""
