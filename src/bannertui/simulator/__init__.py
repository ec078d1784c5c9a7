"""The SMS provider simulator (``bannertui simulator``, the demo, tests and benchmarks): a
development tool that plays the provider over loopback HTTPS; nothing of the product imports
it but the demo runtime and the CLI."""
