"""The API group and version every Strongroom kind is served under."""

GROUP = "strongroom.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
