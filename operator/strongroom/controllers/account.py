"""The Account controller: its status (Ready when its Secret can be delivered, the holder under
exclusive check-out) and its password rotation (on request, on release, on schedule).

The operator may not watch Secrets, so whether the vaulted Secret is readable is looked at when the
Account changes, when it rotates, and otherwise once every `settings.secret_check` (spread over
time); nothing else here calls the API server when nothing happens."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from strongroom.api.account import Account
from strongroom.api.common import find_condition
from strongroom.api.phases import is_terminal
from strongroom.controllers.context import Context, key_of
from strongroom.kube import reads
from strongroom.kube.reads import CredentialUnreadable
from strongroom.policy.delivery import PASSWORD_TYPES
from strongroom.policy.inventory import account_status
from strongroom.rotation.rotator import Rotator

KIND = "Account"
SECRET_UNAVAILABLE = "SecretUnavailable"


class AccountController:
    """Owns when each Account's Secret was last looked at (in memory: after a restart, all are looked at
    once, spread over the first period)."""

    def __init__(self, ctx: Context, rotator: Rotator) -> None:
        self._ctx = ctx
        self._rotator = rotator
        self._checked: dict[tuple[str, str], datetime] = {}

    def reconcile(self, namespace: str, name: str) -> datetime | None:
        ctx = self._ctx
        account = ctx.cache.get(Account, namespace, name)
        if account is None:
            self._checked.pop((namespace, name), None)
            return None
        now = ctx.clock.now()
        grants = ctx.cache.grants_of_account(namespace, name)
        following: list[datetime] = []
        if account.spec.rotation is not None:
            rotated_next = self._rotator.reconcile(account, grants)
            if rotated_next is not None:
                following.append(rotated_next)
            account = ctx.cache.get(Account, namespace, name) or account
            for grant in grants:  # deliveries held for the rotation go ahead now
                if not grant.status.secret_uid and not is_terminal(grant.status.phase):
                    ctx.queue.enqueue(key_of(grant))
        changed = account.status.observed_generation != account.generation
        due = self._check_due(account, now)
        if changed or now >= due:
            problem = _secret_problem(ctx, account)
            self._checked[(namespace, name)] = now
            due = self._check_due(account, now)
        else:
            problem = _last_problem(account)
        following.append(due)
        ctx.status.observe(account, account_status(account, ctx.cache.safe_of(account), problem, grants, now))
        if changed:
            for grant in ctx.cache.grants_of_account(namespace, name, live=True):
                ctx.queue.enqueue(key_of(grant))
        return min(following)

    def _check_due(self, account: Account, now: datetime) -> datetime:
        """When the Secret is next looked at. Never looked at since this process started: within the first
        period, at an offset of its own, so that many Accounts are not all looked at in the same second."""
        period = self._ctx.settings.secret_check
        last = self._checked.get((account.namespace, account.name))
        if last is not None:
            return last + period
        offset = int(hashlib.sha256(account.uid.encode()).hexdigest(), 16) % max(int(period.total_seconds()), 1)
        return now + timedelta(seconds=offset)


def _secret_problem(ctx: Context, account: Account) -> str | None:
    """Why the Account's credential could not be delivered now, or None."""
    try:
        found = reads.material(ctx.kube, account)
    except CredentialUnreadable as unreadable:
        return str(unreadable)
    ref = account.spec.secret_ref
    if ref.password_key not in found and account.spec.type in PASSWORD_TYPES:
        return f"secret {ref.name} has no key {ref.password_key}"
    return None


def _last_problem(account: Account) -> str | None:
    ready = find_condition(account.status.conditions, "Ready")
    return ready.message if ready is not None and ready.reason == SECRET_UNAVAILABLE else None
