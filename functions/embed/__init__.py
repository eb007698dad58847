"""Embed: document.parsed -> chunks + embeddings -> the tenant index segment; document.deleted -> cleanup."""
