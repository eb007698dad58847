"""Documents REST API: upload URLs, status, listing, sharing and deletion."""
