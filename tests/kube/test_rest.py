"""Which answers say "not now" (retried quickly while a deadline is due) and which say "no"."""

from __future__ import annotations

import json

import urllib3
from kubernetes.client.exceptions import ApiException

from strongroom.kube.rest import is_transient


def answered(status: int, message: str = "") -> ApiException:
    error = ApiException(status=status, reason="")
    error.body = json.dumps({"kind": "Status", "message": message})
    return error


def test_a_starting_api_server_that_has_not_found_a_policys_parameter_kind_yet_means_not_now() -> None:
    starting = ("secrets \"x\" is forbidden: ValidatingAdmissionPolicy 'strongroom-operator-fence' denied request: "
                "failed to configure policy: failed to find resource referenced by paramKind: "
                "'strongroom.dev/v1alpha1, Kind=LeaderFence'")
    assert is_transient(answered(422, starting))
    assert not is_transient(answered(422, "spec.reason: Too long: may not be more than 1024 bytes"))
    assert not is_transient(answered(409, "the object has been modified"))


def test_no_answer_an_overloaded_or_starting_server_mean_not_now() -> None:
    assert all(is_transient(answered(code)) for code in (403, 429, 500, 503, 504))
    assert is_transient(urllib3.exceptions.MaxRetryError(None, "/api", urllib3.exceptions.NewConnectionError(None, "")))  # type: ignore[arg-type]
    assert not is_transient(ValueError("a bug"))
