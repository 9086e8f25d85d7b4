"""Webhooks: the portal POSTs signed events to the URLs API clients register (issue 13)."""
