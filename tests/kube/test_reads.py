"""How the operator reads less: Grants selected by the API server on their account, subject and phase
(the CRDs' selectable fields), instead of listing every Grant there is."""

from __future__ import annotations

from strongroom.kube import reads
from strongroom.kube.rest import Kube
from tests.controllers.helpers import active, reaches, status
from tests.operators import InProcessOperator
from tests.world import World


def test_a_field_selector_escapes_what_the_api_server_would_split_on() -> None:
    selector = reads.field_selector({"spec.subject.user": "o=u,x\\y"}, {"status.phase": ["Expired", "Revoked"]})
    assert selector == "spec.subject.user=o\\=u\\,x\\\\y,status.phase!=Expired,status.phase!=Revoked"


def test_grants_are_selected_by_account_subject_and_phase(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    kube = Kube(world.clients["admin"])
    name, _ = active(world, "alice", "30m")
    grant = status(world, name)["grant"]

    def names(grants: list) -> set[str]:
        return {g.name for g in grants}

    assert names(reads.live_grants_of_account(kube, world.vault, world.account)) == {grant}
    assert names(reads.live_grants_of_account(kube, world.vault, "another-account")) == set()
    assert grant in names(reads.live_grants_of_user(kube, "alice"))
    assert grant not in names(reads.live_grants_of_user(kube, "erin"))
    world.patch("alice", "AccessRequest", name, {"spec": {"release": True}})
    reaches(world, name, "Released")
    assert names(reads.live_grants_of_account(kube, world.vault, world.account)) == set()
    assert grant not in names(reads.live_grants_of_user(kube, "alice"))
