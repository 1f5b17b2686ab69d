"""The use cases, named after the spec. They take a session first, are the only layer
that commits, raise Open311Error, and never import Flask."""
