"""ValidatingAdmissionPolicies: the rules the API server enforces itself, with no call to the operator.

- `strongroom-identity`: for everybody but the operator, who may write what in Strongroom's objects:
  a request's requester is its creator, a review's author is its writer (one at a time), only the
  requester or someone who may revoke Grants releases, a direct Grant's issuer is its creator, and
  nobody writes a Grant's status. They hold while no webhook answers, and the webhooks' seals hold
  where these were removed too.
- `strongroom-operator-fence`: the operator's writes are accepted only from the pod the LeaderFence
  names, which the holder of the leader Lease keeps naming itself (a pod-bound ServiceAccount token
  names its pod), so a deposed leader that still believes it leads cannot complete a write.
- `strongroom-operator-scope`: what the operator's identity may create or delete even with a stolen
  token: only Secrets it delivers (labelled, owned by a Grant) besides its own two, only the Role and
  RoleBinding that let one user read one delivered Secret, and it deletes only Secrets it delivered.

One source for the local control plane and the chart (codegen renders the chart's copy).
"""

from __future__ import annotations

import json
from typing import Any

from strongroom.api.accessrequest import AccessRequestStatus
from strongroom.api.common import wire_names
from strongroom.api.group import API_VERSION, GROUP
from strongroom.policy.delivery import ACCESS_PREFIX, GRANT_UID_LABEL, MANAGED_BY

IDENTITY = "strongroom-identity"
FENCE = "strongroom-operator-fence"
SCOPE = "strongroom-operator-scope"
POD_NAME = "authentication.kubernetes.io/pod-name"
SIGNING_KEY_SECRET = "strongroom-signing-key"
WEBHOOK_TLS_SECRET = "strongroom-webhook-tls"
ADMISSION = "admissionregistration.k8s.io/v1"


def _rule(groups: list[str], resources: list[str], operations: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "apiVersions": ["*"], "resources": resources, "operations": operations}


def _check(expression: str, message: str, reason: str = "Forbidden") -> dict[str, Any]:
    return {"expression": expression, "message": message, "reason": reason}


def _policy(name: str, rules: list[dict[str, Any]], conditions: list[dict[str, str]],
            validations: list[dict[str, Any]], param_kind: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": rules},
        "matchConditions": conditions,
        "validations": validations,
    }
    if param_kind:
        spec["paramKind"] = param_kind
    return {"apiVersion": ADMISSION, "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "strongroom"}}, "spec": spec}


def _binding(name: str, param_ref: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"policyName": name, "validationActions": ["Deny"]}
    if param_ref:
        # The API server resolves the parameter before it evaluates matchConditions, so a missing Lease
        # with `Deny` would refuse every Secret write in the cluster, anyone's. Installed with Strongroom
        # and re-created by whichever replica takes it, the Lease is missing only for moments.
        spec["paramRef"] = {**param_ref, "parameterNotFoundAction": "Allow"}
    return {"apiVersion": ADMISSION, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "strongroom"}}, "spec": spec}


def _is(operator_user: str) -> str:
    return f"request.userInfo.username == {json.dumps(operator_user)}"


def _on(resource: str, sub: str = "", operation: str = "") -> str:
    # An empty subResource is left out of the request (no such key), so it is read with a default.
    clause = (f"request.resource.resource == '{resource}' && "
              f"(has(request.subResource) ? request.subResource : '') == '{sub}'")
    return clause + (f" && request.operation == '{operation}'" if operation else "")


def _unchanged(field: str) -> str:
    new, old = f"object.status.{field}", f"oldObject.status.{field}"
    return f"(has({new}) == has({old}) && (!has({new}) || {new} == {old}))"


def identity_policy(operator_user: str) -> dict[str, Any]:
    caller = "request.userInfo.username"
    status_fields = [name for name in wire_names(AccessRequestStatus) if name != "reviews"]
    old_reviews = "(has(oldObject.status) && has(oldObject.status.reviews) ? oldObject.status.reviews : [])"
    new_reviews = "(has(object.status) && has(object.status.reviews) ? object.status.reviews : [])"
    added = f"{new_reviews}.filter(r, !{old_reviews}.exists(o, o == r))"
    may_release = (f"authorizer.group('{GROUP}').resource('grants').namespace(request.namespace)"
                   ".check('delete').allowed()")
    return _policy(IDENTITY, [
        _rule([GROUP], ["accessrequests"], ["CREATE", "UPDATE"]),
        _rule([GROUP], ["accessrequests/status"], ["UPDATE"]),
        _rule([GROUP], ["grants"], ["CREATE"]),
        _rule([GROUP], ["grants/status"], ["UPDATE"]),
    ], [{"name": "not-the-operator", "expression": f"!({_is(operator_user)})"}], [
        _check(f"!({_on('accessrequests', operation='CREATE')}) || (has(object.spec.requester) && "
               f"object.spec.requester == {caller} && (!has(object.spec.requesterGroups) || "
               "object.spec.requesterGroups.all(g, g in request.userInfo.groups)))",
               "the requester of an AccessRequest is always its creator, with their own groups"),
        _check(f"!({_on('accessrequests', 'status')}) || ({added}.size() <= 1 && "
               f"{added}.all(r, r.user == {caller}))",
               "a review is added one at a time, in the writer's own name"),
        _check(f"!({_on('accessrequests', 'status')}) || ((has(object.status) == has(oldObject.status)) && "
               f"(!has(object.status) || ({' && '.join(_unchanged(f) for f in status_fields)})))",
               "only a review may be added to an AccessRequest's status; everything else is the operator's"),
        _check(f"!({_on('accessrequests', operation='UPDATE')}) || !has(object.spec.release) || "
               "!object.spec.release || (has(oldObject.spec.release) && oldObject.spec.release) || "
               f"((oldObject.spec.requester == {caller} || {may_release}) && has(object.spec.releasedBy) && "
               f"object.spec.releasedBy == {caller})",
               "only the requester, or someone who may revoke Grants here, releases a request, in their own name"),
        _check(f"!({_on('grants', operation='CREATE')}) || (!has(object.spec.source.accessRequest) && "
               f"!has(object.spec.source.uid) && has(object.spec.issuedBy) && object.spec.issuedBy == {caller})",
               "a Grant for a request is issued by the operator only; a direct Grant's issuer is its creator"),
        _check(f"!({_on('grants', 'status')})", "only the operator writes a Grant's status"),
    ])


def fence_policy(operator_user: str, namespace: str) -> dict[str, Any]:
    own = json.dumps([SIGNING_KEY_SECRET, WEBHOOK_TLS_SECRET])
    return _policy(FENCE, [
        _rule([GROUP], ["safes", "accounts", "accessrequests", "grants", "safes/status", "accounts/status",
                        "accessrequests/status", "grants/status"], ["CREATE", "UPDATE", "DELETE"]),
        _rule([""], ["secrets"], ["CREATE", "UPDATE", "DELETE"]),
        _rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ["CREATE", "UPDATE", "DELETE"]),
    ], [
        {"name": "the-operator", "expression": _is(operator_user)},
        # Every replica makes sure the sealing key and the webhook's certificate exist, leader or not.
        {"name": "not-its-own-secrets", "expression": f"!(request.resource.resource == 'secrets' && "
                                                      f"request.namespace == {json.dumps(namespace)} && "
                                                      f"request.name in {own})"},
    ], [
        _check(f"{_pod()} != '' && has(params.spec.holder) && {_pod()} == params.spec.holder",
               "only the replica holding the leader Lease writes; this one does not (it is a standby, or was deposed)"),
    ], param_kind={"apiVersion": API_VERSION, "kind": "LeaderFence"})


def _pod() -> str:
    """The pod a request's token is bound to ('' for a token bound to none)."""
    return (f"(has(request.userInfo.extra) && '{POD_NAME}' in request.userInfo.extra ? "
            f"request.userInfo.extra['{POD_NAME}'][0] : '')")


def _labelled(obj: str) -> str:
    return (f"has({obj}.metadata.labels) && '{MANAGED_BY}' in {obj}.metadata.labels && "
            f"{obj}.metadata.labels['{MANAGED_BY}'] == 'strongroom' && '{GRANT_UID_LABEL}' in {obj}.metadata.labels")


def _owned_by(kind: str, api_version: str) -> str:
    return (f"has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(o, "
            f"o.kind == '{kind}' && o.apiVersion == '{api_version}')")


def scope_policy(operator_user: str, namespace: str) -> dict[str, Any]:
    own = json.dumps([SIGNING_KEY_SECRET, WEBHOOK_TLS_SECRET])
    one_secret = ("object.rules.size() == 1 && object.rules[0].apiGroups == [''] && "
                  "object.rules[0].resources == ['secrets'] && object.rules[0].verbs == ['get'] && "
                  "has(object.rules[0].resourceNames) && object.rules[0].resourceNames.size() == 1")
    return _policy(SCOPE, [
        _rule([""], ["secrets"], ["CREATE", "UPDATE", "DELETE"]),
        _rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ["CREATE", "UPDATE", "DELETE"]),
        _rule([GROUP], ["leaderfences"], ["CREATE", "UPDATE", "DELETE"]),
    ], [{"name": "the-operator", "expression": _is(operator_user)}], [
        _check(f"request.resource.resource != 'leaderfences' || (request.operation != 'DELETE' && "
               f"(object.spec.holder == '' || object.spec.holder == {_pod()}))",
               "a replica names only itself (or nobody) in the fence"),
        _check(f"!({_on('secrets', operation='CREATE')}) || (request.namespace == {json.dumps(namespace)} && "
               f"object.metadata.name in {own}) || ({_labelled('object')} && "
               "(!has(object.type) || object.type in ['Opaque', 'kubernetes.io/basic-auth']) && "
               f"object.metadata.labels['{GRANT_UID_LABEL}'] != '' && {_owned_by('Grant', API_VERSION)} && "
               f"object.metadata.ownerReferences.exists(o, o.uid == object.metadata.labels['{GRANT_UID_LABEL}']))",
               "the operator creates only Secrets it delivers for a Grant (labelled, owned by it, Opaque or "
               "basic-auth), besides its own"),
        _check(f"!({_on('secrets', operation='DELETE')}) || ({_labelled('oldObject')})",
               "the operator deletes only Secrets it delivered"),
        _check(f"!({_on('secrets', operation='UPDATE')}) || !(has(oldObject.metadata.labels) && "
               f"'{MANAGED_BY}' in oldObject.metadata.labels)",
               "the operator changes no Secret it delivered or anyone labelled as managed; only vaulted ones"),
        _check(f"!({_on('roles', operation='CREATE')}) || ({_labelled('object')} && "
               f"object.metadata.name.startsWith('{ACCESS_PREFIX}') && {_owned_by('Secret', 'v1')} && {one_secret})",
               "the operator creates only Roles that let one delivered Secret be read"),
        _check(f"!({_on('rolebindings', operation='CREATE')}) || ({_labelled('object')} && "
               f"object.metadata.name.startsWith('{ACCESS_PREFIX}') && {_owned_by('Secret', 'v1')} && "
               "object.roleRef.kind == 'Role' && object.roleRef.name == object.metadata.name && "
               "object.subjects.size() == 1 && object.subjects[0].kind == 'User')",
               "the operator binds only its own read Roles, each to one user"),
        _check("request.resource.resource in ['secrets', 'leaderfences'] || request.operation == 'CREATE'",
               "the operator never changes or deletes Roles or RoleBindings (they go with their Secret)"),
    ])


def all_policies(operator_user: str, namespace: str, lease: str) -> list[dict[str, Any]]:
    """The three policies and their bindings, for an operator identity, namespace and leader Lease (the
    fence has the Lease's name)."""
    return [
        identity_policy(operator_user), _binding(IDENTITY),
        fence_policy(operator_user, namespace), _binding(FENCE, {"name": lease, "namespace": namespace}),
        scope_policy(operator_user, namespace), _binding(SCOPE),
    ]
