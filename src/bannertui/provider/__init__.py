"""The SMS provider side: HTTPS adapter, webhook receiver, local simulator."""
