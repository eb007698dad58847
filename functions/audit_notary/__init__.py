"""Audit notary: verifies each tenant's chain segment since its last checkpoint and signs the head.
Its role alone holds kms:Sign on the checkpoint key; it can read the chain but never write it."""
