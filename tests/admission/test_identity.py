"""Who asked, who reviewed, who issued: stamped by the webhooks from the API server's own
authentication, sealed, and every attempt to forge or bend it refused — acting as the real users."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.accessrequest import AccessRequest
from strongroom.devcluster.users import LEASE_NAME, OPERATOR_NAMESPACE
from strongroom.identity.sealing_key import KEY_SECRET
from strongroom.identity.signing import verify_requester, verify_review
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World, refusal


def signing_key(world: World) -> bytes:
    secret = world.core("admin").read_namespaced_secret(KEY_SECRET, OPERATOR_NAMESPACE)
    return base64.b64decode(next(iter(secret.data.values())))


def test_the_requester_is_stamped_from_the_callers_authentication_and_sealed(
    operator: InProcessOperator, world: World
) -> None:
    created = world.request("alice", duration="30m")
    assert created["spec"]["requester"] == "alice"
    assert created["spec"]["requesterGroups"] == ["dev"]
    parsed = AccessRequest.from_object(created)
    assert verify_requester(signing_key(world), world.team, parsed.spec, parsed.created).ok


def test_a_forged_requester_is_refused(operator: InProcessOperator, world: World) -> None:
    refused = refusal(lambda: world.request("alice", requester="bob"))
    assert refused.status == 403
    assert "alice may not file a request as bob" in refused.body


def test_a_review_is_stamped_with_the_reviewer_and_sealed(operator: InProcessOperator, world: World) -> None:
    name = world.request("alice")["metadata"]["name"]
    reviewed = world.review("bob", name, comment="looks right")
    [review] = AccessRequest.from_object(reviewed).status.reviews
    assert (review.user, review.decision.value, review.comment) == ("bob", "Approve", "looks right")
    assert verify_review(signing_key(world), reviewed["metadata"]["uid"], review).ok


def test_self_approval_is_refused(operator: InProcessOperator, world: World) -> None:
    name = world.request("erin")["metadata"]["name"]  # erin is both a member and an approver
    refused = refusal(lambda: world.review("erin", name))
    assert refused.status == 403 and "erin may not review their own request" in refused.body


def test_a_review_by_somebody_who_is_not_an_approver_of_the_safe_is_refused(
    operator: InProcessOperator, world: World
) -> None:
    name = world.request("alice")["metadata"]["name"]
    refused = refusal(lambda: world.review("carol", name))  # carol may patch status (RBAC) but is no approver
    assert refused.status == 403
    assert f"carol is not an approver of safe prod-db in namespace {world.vault}" in refused.body


def test_a_second_review_by_the_same_approver_is_refused(operator: InProcessOperator, world: World) -> None:
    name = world.request("alice")["metadata"]["name"]
    world.review("bob", name)
    refused = refusal(lambda: world.review("bob", name, decision="Deny"))
    assert refused.status == 422 and "bob has already reviewed this request" in refused.body


def test_a_review_written_in_another_users_name_is_refused(operator: InProcessOperator, world: World) -> None:
    name = world.request("alice")["metadata"]["name"]
    refused = refusal(lambda: world.review("bob", name, user="erin"))
    assert refused.status == 403 and "bob may not write a review in erin's name" in refused.body


def test_an_existing_review_can_be_neither_changed_nor_removed(operator: InProcessOperator, world: World) -> None:
    name = world.request("alice")["metadata"]["name"]
    world.review("bob", name)
    for patch in (
        [{"op": "replace", "path": "/status/reviews/0/decision", "value": "Deny"}],
        [{"op": "remove", "path": "/status/reviews/0"}],
    ):
        for user in ("bob", "erin"):
            refused = refusal(lambda p=patch, u=user: world.patch_status(u, "AccessRequest", name, p))
            assert refused.status in (403, 422) and "review" in refused.body
    assert len(world.get("AccessRequest", name)["status"]["reviews"]) == 1


def test_an_approver_may_not_set_the_phase_or_the_window(operator: InProcessOperator, world: World) -> None:
    name = world.request("alice")["metadata"]["name"]
    for status in ({"phase": "Approved"}, {"notAfter": "2099-01-01T00:00:00Z"}):
        refused = refusal(lambda s=status: world.patch_status("bob", "AccessRequest", name, {"status": s}))
        assert refused.status == 403 and "bob may only add a review" in refused.body


def test_a_direct_grant_is_refused_to_a_non_grantor_and_stamped_for_one(
    operator: InProcessOperator, world: World
) -> None:
    spec = {"account": {"namespace": world.vault, "name": world.account}, "subject": {"user": "alice"},
            "notBefore": "2030-01-01T10:00:00Z", "notAfter": "2030-01-01T11:00:00Z",
            "secretName": "standing", "source": {"direct": True}}
    assert refusal(lambda: world.create("alice", "Grant", spec)).status == 403
    assert refusal(lambda: world.create("admin", "Grant", {**spec, "issuedBy": "bob"})).status == 403
    granted = world.create("admin", "Grant", spec)
    assert granted["spec"]["issuedBy"] == "admin" and granted["spec"]["issuedBySignature"].startswith("v2:")
    assert granted["spec"]["issuedByGroups"] == ["system:masters"]


def test_only_the_requester_or_an_admin_may_release(operator: InProcessOperator, world: World) -> None:
    first = world.request("alice")["metadata"]["name"]
    refused = refusal(lambda: world.patch("erin", "AccessRequest", first, {"spec": {"release": True}}))
    assert refused.status == 403 and "only alice (the requester) or an admin may release" in refused.body
    assert world.patch("alice", "AccessRequest", first, {"spec": {"release": True}})["spec"]["release"] is True
    second = world.request("alice")["metadata"]["name"]
    assert world.patch("admin", "AccessRequest", second, {"spec": {"release": True}})["spec"]["release"] is True


def test_writes_fail_closed_while_the_webhook_is_down(operator: InProcessOperator, world: World) -> None:
    name = world.request("alice")["metadata"]["name"]
    operator.stop()
    refused = refusal(lambda: world.request("alice"))
    assert refused.status >= 500 or "failed calling webhook" in refused.body
    assert "failed calling webhook" in refusal(lambda: world.review("bob", name)).body


def test_the_auditor_reads_requests_but_not_secrets(operator: InProcessOperator, world: World) -> None:
    name = world.request("alice")["metadata"]["name"]
    assert world.get("AccessRequest", name, user="audrey")["spec"]["requester"] == "alice"
    eventually(lambda: world.core("audrey").list_namespaced_event(world.team).items, what="Events the auditor reads")
    assert refusal(lambda: world.core("audrey").list_namespaced_secret(world.team)).status == 403


def test_a_review_after_the_approval_timeout_is_refused_at_admission_even_without_reconciliation(
    in_process, make_world, clients
) -> None:
    """A replica that does not lead still answers admission: it reconciles nothing (nobody sets TimedOut),
    and still refuses a review past the approval timeout."""
    hold_lease(clients["admin"], "another-replica")
    standby: InProcessOperator = in_process(lead=False)
    world: World = make_world(policy={"approvalTimeout": "2h"})
    name = world.request("alice", wait=False)["metadata"]["name"]
    standby.advance(timedelta(hours=2))
    refused = refusal(lambda: world.review("bob", name))
    assert refused.status == 422 and "approval timeout of this request has passed" in refused.body
    assert not world.get("AccessRequest", name).get("status"), "nothing reconciled it"


def hold_lease(admin, holder: str) -> None:
    """The leader Lease names `holder` for an hour (created, when no replica has led yet)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    spec = {"holderIdentity": holder, "leaseDurationSeconds": 3600, "renewTime": now, "acquireTime": now}
    leases = client.CoordinationV1Api(admin)
    try:
        leases.patch_namespaced_lease(LEASE_NAME, "strongroom-system", {"spec": spec})
    except ApiException as missing:
        if missing.status != 404:
            raise
        leases.create_namespaced_lease("strongroom-system", {"metadata": {"name": LEASE_NAME}, "spec": spec})
