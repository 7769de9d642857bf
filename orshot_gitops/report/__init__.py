"""Renderers: values in, text out (plain text, JSON, Markdown, GitHub workflow commands)."""
