"""Announced maintenance windows: announce, list, move, cancel."""
