"""Intake: sniffing, limits and decoding of uploaded media."""
