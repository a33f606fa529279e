"""Rotation in the cluster (the shell): the crash-safe steps on the Account's Secret, the provider call
in between, then status and an Event. Values go only into Secrets, never into status, Events or logs.

Each step is logged at DEBUG on the logger `strongroom.rotation.steps` ("pending-recorded",
"target-set", "committed") as it is reached; the crash tests stop the process exactly there.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kubernetes.client.exceptions import ApiException

from strongroom.api.account import Account, RotationResult, RotationStatus
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.kube import reads
from strongroom.kube.clock import Clock
from strongroom.kube.events import EventRecorder
from strongroom.kube.reads import CredentialUnreadable
from strongroom.kube.rest import Kube, core_path
from strongroom.kube.status import StatusWriter
from strongroom.rotation import passwords
from strongroom.rotation.protocol import (
    PENDING_KEY,
    ROTATION_ANNOTATION,
    Action,
    backoff,
    may_attempt,
    next_due,
    next_scheduled,
    recover,
    rotation_reason,
)
from strongroom.rotation.providers import TargetUnavailable, provider_for
from strongroom.rotation.target import management_target

STEPS = logging.getLogger("strongroom.rotation.steps")


@dataclass(frozen=True)
class Rotator:
    kube: Kube
    clock: Clock
    status: StatusWriter
    recorder: EventRecorder
    log: logging.Logger
    on_result: Callable[[RotationResult], None]

    def reconcile(self, account: Account, grants: Sequence[Grant]) -> datetime | None:
        """Finish an interrupted rotation, then rotate when one is due and the backoff allows. Returns
        when to look again (the schedule, the end of a backoff), or None."""
        now = self.clock.now()
        try:
            found = reads.material(self.kube, account)
        except CredentialUnreadable:
            return None  # the Account's Ready condition says so
        if PENDING_KEY in found:
            if not may_attempt(account, now):
                return self._retry_at(account)
            finished, account = self._finish_pending(account, found)
            if not finished:
                return self._retry_at(account)
            account = reads.get(self.kube, Account, account.namespace, account.name) or account
            found = reads.material(self.kube, account)
        reason = rotation_reason(account, grants, now)
        if reason and may_attempt(account, now):
            account = self._rotate(account, found, reason)
        # Only moments still ahead: one already past was just tried (or waits for the backoff), and
        # answering it would have this Account looked at again at once, and again, until the backoff ends.
        moments = [m for m in (next_due(account, now), self._retry_at(account)) if m is not None and m > now]
        return min(moments, default=None)

    def _retry_at(self, account: Account) -> datetime | None:
        """When the backoff after failed attempts ends (None: the last attempt did not fail)."""
        status = account.status.rotation
        if status is None or status.last_attempt is None or not status.failures:
            return None
        return status.last_attempt + backoff(status.failures)

    # -- the steps -------------------------------------------------------------------------------

    def _patch_secret(self, account: Account, body: dict[str, object]) -> None:
        self.kube.merge_patch(core_path("secrets", account.namespace, account.spec.secret_ref.name), body)

    def _rotate(self, account: Account, found: dict[str, bytes], reason: str) -> Account:
        """One rotation: record pending, set on the target, commit, report."""
        rotation = account.spec.rotation
        assert rotation is not None
        old = found.get(account.spec.secret_ref.password_key, b"").decode()
        try:
            new = passwords.generate(rotation.password_policy)
        except ValueError as bad_policy:
            return self._failed(account, f"rotation ({reason}) failed: {bad_policy}")
        marker = f"{secrets.token_hex(4)} {format_time(self.clock.now())}"
        self._patch_secret(account, {"metadata": {"annotations": {ROTATION_ANNOTATION: marker}},
                                     "data": {PENDING_KEY: _b64(new)}})
        STEPS.debug("pending-recorded")
        try:
            provider_for(rotation.provider).set_password(management_target(self.kube, account), old, new)
        except (TargetUnavailable, CredentialUnreadable) as down:
            self._roll_back_if_old_works(account, old, new)
            return self._failed(account, f"rotation ({reason}) failed: {down}")
        STEPS.debug("target-set")
        self._commit(account, new)
        STEPS.debug("committed")
        return self._succeeded(account, f"password rotated ({reason}) by the {rotation.provider.value} provider")

    def _commit(self, account: Account, new: str) -> None:
        self._patch_secret(account, {"metadata": {"annotations": {ROTATION_ANNOTATION: None}},
                                     "data": {account.spec.secret_ref.password_key: _b64(new), PENDING_KEY: None}})

    def _roll_back(self, account: Account) -> None:
        self._patch_secret(account, {"metadata": {"annotations": {ROTATION_ANNOTATION: None}},
                                     "data": {PENDING_KEY: None}})

    def _finish_pending(self, account: Account, found: dict[str, bytes]) -> tuple[bool, Account]:
        """Finish an interrupted rotation: (True when the Secret holds no pending password any more, the
        Account as stored after)."""
        rotation = account.spec.rotation
        old = found.get(account.spec.secret_ref.password_key, b"").decode()
        new = found[PENDING_KEY].decode()
        if rotation is None:
            action = Action.ROLL_BACK
        else:
            try:
                works = provider_for(rotation.provider).which_works(management_target(self.kube, account), old, new)
            except CredentialUnreadable:
                works = None
            action = recover(works) if works is not None else Action.WAIT
        if action is Action.COMMIT:
            self._commit(account, new)
            return True, self._succeeded(
                account, "an interrupted rotation was completed: the new password works on the target")
        if action is Action.ROLL_BACK:
            self._roll_back(account)
            self.log.info(f"RotationRolledBack: Account {account.namespace}/{account.name}: the target still "
                          "accepts the stored password; the pending one was dropped")
            return True, account
        return False, self._failed(account, "a rotation is pending and the target cannot tell which password works")

    def _roll_back_if_old_works(self, account: Account, old: str, new: str) -> None:
        # A failed change leaves pending in place unless the target positively still takes the old one.
        rotation = account.spec.rotation
        if rotation is None:
            return
        try:
            works = provider_for(rotation.provider).which_works(management_target(self.kube, account), old, new)
        except CredentialUnreadable:
            return
        if recover(works) is Action.ROLL_BACK:
            self._roll_back(account)

    # -- reporting -------------------------------------------------------------------------------

    def _write(self, account: Account, changes: dict[str, object]) -> Account:
        try:
            return self.status.observe(account, {"rotation": {**_rotation_of(account), **changes}})
        except ApiException as exc:
            if exc.status != 409:
                raise
        # The Account changed since it was read (its spec, its other status): what was done to the
        # password is recorded all the same, or a success would be done again and a failure lose its backoff.
        fresh = reads.get(self.kube, Account, account.namespace, account.name)
        if fresh is None:
            return account
        return self.status.observe(fresh, {"rotation": {**_rotation_of(fresh), **changes}})

    def _succeeded(self, account: Account, message: str) -> Account:
        now = self.clock.now()
        rotated = account.model_copy(update={"status": account.status.model_copy(update={
            "rotation": (account.status.rotation or RotationStatus()).model_copy(update={"last_rotated": now})})})
        upcoming = next_scheduled(rotated)
        stored = self._write(account, {
            "lastRotated": format_time(now), "lastAttempt": format_time(now),
            "lastResult": RotationResult.SUCCEEDED.value, "failures": 0, "message": message,
            "nextScheduled": format_time(upcoming) if upcoming else None,
        })
        self.recorder.record(account, "Rotated", message)
        self.log.info(f"Rotated: Account {account.namespace}/{account.name}: {message}")
        self.on_result(RotationResult.SUCCEEDED)
        return stored

    def _failed(self, account: Account, message: str) -> Account:
        now = self.clock.now()
        failures = (account.status.rotation.failures if account.status.rotation else 0) + 1
        retry = now + backoff(failures)
        text = f"{message}; the stored password is unchanged and still works; retrying at {format_time(retry)}"
        stored = self._write(account, {"lastAttempt": format_time(now), "lastResult": RotationResult.FAILED.value,
                                       "failures": failures, "message": text[:4096]})
        self.recorder.record(account, "RotationFailed", text, warning=True)
        self.log.warning(f"RotationFailed: Account {account.namespace}/{account.name}: {text}")
        self.on_result(RotationResult.FAILED)
        return stored


def _rotation_of(account: Account) -> dict[str, object]:
    rotation = account.status.rotation
    return rotation.model_dump(mode="json", by_alias=True, exclude_none=True) if rotation else {}


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()
