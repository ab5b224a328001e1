"""Scoring radiographic damage (Sharp/van der Heijde), reader agreement, phantom truth. No Qt."""
