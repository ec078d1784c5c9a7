"""Inbound adapters, which call the services: the webhook receiver (``webhook.py``), the
loopback HTTP(S) serving it and the simulator share (``serving.py``), and ``bannertui
serve``, the console in a web browser behind a sign-in (``server.py``, docs/deploy.md)."""
