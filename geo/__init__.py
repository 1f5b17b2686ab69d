"""Spatial helpers on shapely: points, boundaries. A leaf: imports nothing of ours."""
