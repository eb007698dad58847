"""Outbox relay: DynamoDB Streams (the outbox table) -> the SNS event bus, then the item is deleted."""
