"""The wire contract: marshmallow schemas of what comes in and goes out.

A leaf package: it imports no first-party code. ``json/`` holds JSON Schemas of the
spec's resources, used to validate the server's JSON output in the test suite.
"""
