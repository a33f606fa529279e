"""How the operator reads less: Grants selected by the API server on their account, subject and phase
(the CRDs' selectable fields), and Safes and Accounts from the watch streams' view, with a read for
anything that view has not seen yet."""

from __future__ import annotations

from strongroom import store
from strongroom.models.account import Account
from strongroom.vault_view import VaultView
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

    world.patch("alice", "AccessRequest", name, {"spec": {"release": True}})
    eventually(lambda: phase(world, name) == "Released", what="Released")
    assert names(store.grants_of_account(admin, world.vault, world.account, live=True)) == set()
    assert grant not in names(store.live_grants_of(admin, "alice"))
    assert names(store.grants_of_account(admin, world.vault, world.account)) == {grant}  # ended, still there


def test_the_vault_view_answers_from_its_indexes_and_reads_what_they_have_not_seen(world: World) -> None:
    admin = world.clients["admin"]
    stored = store.get(admin, Account, world.vault, world.account)
    assert stored is not None
    seen = stored.model_copy(update={"metadata": {**stored.metadata, "name": "as-seen"}})
    from_index = VaultView(admin, accounts={(world.vault, world.account): [seen]})
    assert from_index.account(world.vault, world.account) is seen  # no read
    unseen = VaultView(admin, safes={}, accounts={}, safe_accounts={})
    account, safe = unseen.account_and_safe(world.vault, world.account)
    assert account is not None and account.name == world.account
    assert safe is not None and safe.name == account.spec.safe
    assert [a.name for a in unseen.accounts_of_safe(world.vault, safe.name)] == [world.account]
    assert unseen.account(world.vault, "no-such-account") is None
