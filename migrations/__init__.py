"""Alembic environment and versions for the XLT Lab database."""
