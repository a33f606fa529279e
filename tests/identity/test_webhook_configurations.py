"""The webhook configuration fails closed, covers Strongroom's resources only, skips only the operator,
and can be changed by the operator only by putting its CA into it."""

from __future__ import annotations

from strongroom.codegen import rbac
from strongroom.webhook import configurations as webhooks


def test_every_webhook_fails_closed_quickly_on_strongroom_resources_and_skips_only_the_operator() -> None:
    config = webhooks.configuration(webhooks.by_service("strongroom-system", "strongroom-webhook"),
                                    "system:serviceaccount:s:op")
    entries = config["webhooks"]
    assert config["kind"] == "MutatingWebhookConfiguration"
    assert {w["name"] for w in entries} == {e.webhook_name for e in webhooks.ENDPOINTS}
    for w in entries:
        assert w["failurePolicy"] == "Fail" and w["timeoutSeconds"] <= 5
        assert [r["apiGroups"] for r in w["rules"]] == [["strongroom.dev"]]
        assert w["clientConfig"]["service"]["path"] == "/" + w["name"].split(".")[0]
        assert "caBundle" not in w["clientConfig"], "the operator (or cert-manager) adds its CA"
        assert w["matchConditions"] == [{
            "name": "not-the-operator",
            "expression": 'request.userInfo.username != "system:serviceaccount:s:op"',
        }]


def test_the_operator_may_only_get_and_patch_its_own_configuration_by_name() -> None:
    rules = [r for r in rbac.operator_role()["rules"] if "admissionregistration.k8s.io" in r["apiGroups"]]
    assert rules == [{"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"],
                      "verbs": ["get", "patch"], "resourceNames": [webhooks.MUTATING_CONFIGURATION]}]
