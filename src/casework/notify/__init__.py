"""Mail: how templates are named and loaded (and, as the service grows, the outbox, the sender,
inbound mail and signed links)."""
