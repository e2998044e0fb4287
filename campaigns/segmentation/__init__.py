"""Segments: rule trees compiled into one query, static lists loaded from CSV."""
