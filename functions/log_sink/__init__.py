"""Log sink: SQS consumer that stores `log.*` events in the central log table with a TTL."""
