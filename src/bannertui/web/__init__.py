"""``bannertui serve``: the console in a web browser, behind a sign-in (docs/deploy.md)."""
