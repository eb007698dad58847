"""Audit ingest: SQS consumer that appends every platform event to its tenant's hash chain."""
