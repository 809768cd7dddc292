"""Renderers: they read a Summary and never recompute a number."""
