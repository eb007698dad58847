"""Echo's document product: the types every document function shares (parsed text, failures)."""
