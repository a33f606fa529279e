"""Taking Strongroom's admission away for a while, as a cluster admin could, and putting it back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from kubernetes import client

from strongroom.devcluster import install
from strongroom.webhook.configurations import remove_configuration
from tests.waiting import eventually
from tests.world import policies_enforced, webhooks_in_effect


@contextlib.contextmanager
def bypassed(admin: client.ApiClient, *, policies: bool) -> Iterator[None]:
    """Without the webhooks (and, with `policies`, without the admission policies) for a while, as a
    cluster admin could arrange; everything is put back afterwards."""
    remove_configuration(admin)
    eventually(lambda: not webhooks_in_effect(admin), what="the webhooks no longer called")
    if policies:
        install.remove_identity_policy(admin)
        # The API server drops a policy from its own cache a moment after the object is gone.
        eventually(lambda: not policies_enforced(admin), what="the admission policies no longer enforced")
    try:
        yield
    finally:
        install.install(admin, webhooks=False)
        # Probed before the webhooks return: their refusal would come first and hide the policies'.
        eventually(lambda: policies_enforced(admin), what="the admission policies enforced again")
        install.reinstall_webhooks(admin)
        eventually(lambda: webhooks_in_effect(admin), what="the webhooks called again")
