"""Password rotation: a pure core (passwords, the protocol's decisions) and providers behind one interface."""
