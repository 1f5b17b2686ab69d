"""Queries: select/add/flush only. No commit, no Flask."""
