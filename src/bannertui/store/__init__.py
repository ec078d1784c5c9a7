"""Persistence: tables, engine, migrations, demo data."""
