"""Intake: the two organisations' files read, cross-matched, and made into cases."""
