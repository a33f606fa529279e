"""How the operator reads less: Grants selected by the API server on their account, subject and phase,
and Accounts on their Safe (the CRDs' selectable fields), instead of listing every object of a kind."""

from __future__ import annotations

from strongroom.kube import reads as store
from tests.conftest import OperatorProcess
from tests.operator.test_lifecycle import phase, status
from tests.waiting import eventually
from tests.world import World


def test_a_field_selector_escapes_what_the_api_server_would_split_on() -> None:
    selector = store.field_selector({"spec.subject.user": "o=u,x\\y"}, {"status.phase": ["Expired", "Revoked"]})
    assert selector == "spec.subject.user=o\\=u\\,x\\\\y,status.phase!=Expired,status.phase!=Revoked"


def test_grants_are_selected_by_account_subject_and_phase(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    admin = world.clients["admin"]
    name = world.request("alice", duration="30m")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Active", what="Active")
    grant = status(world, name)["grant"]

    def names(grants: list) -> set[str]:
        return {g.name for g in grants}

    assert names(store.grants_of_account(admin, world.vault, world.account, live=True)) == {grant}
    assert names(store.grants_of_account(admin, world.vault, "another-account")) == set()
    assert grant in names(store.live_grants_of(admin, "alice"))
    assert grant not in names(store.live_grants_of(admin, "erin"))
    assert names(store.live_grants_in_vault(admin, world.vault)) == {grant}
    safe = world.get("Account", world.account, namespace=world.vault)["spec"]["safe"]
    assert [a.name for a in store.accounts_of_safe(admin, world.vault, safe)] == [world.account]
    assert store.accounts_of_safe(admin, world.vault, "another-safe") == []

    world.patch("alice", "AccessRequest", name, {"spec": {"release": True}})
    eventually(lambda: phase(world, name) == "Released", what="Released")
    assert names(store.grants_of_account(admin, world.vault, world.account, live=True)) == set()
    assert grant not in names(store.live_grants_of(admin, "alice"))
    assert names(store.grants_of_account(admin, world.vault, world.account)) == {grant}  # ended, still there
