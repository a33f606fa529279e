"""Taking Strongroom's admission away for a while, as a cluster admin could, and putting it back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.devcluster import install
from strongroom.webhook.configurations import remove_configuration
from tests.waiting import eventually


@contextlib.contextmanager
def bypassed(admin: client.ApiClient, *, policies: bool) -> Iterator[None]:
    """Without the webhooks (and, with `policies`, without the admission policies) for a while, as a
    cluster admin could arrange; everything is put back afterwards."""
    remove_configuration(admin)
    if policies:
        install.remove_identity_policy(admin)
        # The API server drops a policy from its own cache a moment after the object is gone.
        eventually(lambda: _policies_gone(admin), what="the admission policies no longer enforced")
    try:
        yield
    finally:
        install.install(admin, webhooks=False)
        install.reinstall_webhooks(admin)


def _policies_gone(admin: client.ApiClient) -> bool:
    probe = {"apiVersion": "strongroom.dev/v1alpha1", "kind": "Grant", "metadata": {"generateName": "probe-"},
             "spec": {"account": {"namespace": "x", "name": "x"}, "subject": {"user": "x"},
                      "notBefore": "2030-01-01T00:00:00Z", "notAfter": "2030-01-01T01:00:00Z", "secretName": "x",
                      "source": {"accessRequest": "x"}}}
    try:  # the identity policy refuses anyone but the operator a Grant for a request
        client.CustomObjectsApi(admin).create_namespaced_custom_object("strongroom.dev", "v1alpha1", "default",
                                                                      "grants", probe, dry_run="All")
    except ApiException as refused:
        if "ValidatingAdmissionPolicy" in (refused.body or ""):
            return False
        raise
    return True
