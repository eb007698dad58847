"""Echo's document product: parsed documents, document records, storage layout and events."""
