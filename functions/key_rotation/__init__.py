"""Signing-key rotation: scheduled by EventBridge, or invoked with {"action": "rotate_now"}."""
