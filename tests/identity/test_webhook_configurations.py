"""The webhook configurations fail closed, cover Strongroom's resources only, and skip only the operator."""

from __future__ import annotations

from strongroom.webhook import configurations as webhooks


def test_every_webhook_fails_closed_quickly_on_strongroom_resources_and_skips_only_the_operator() -> None:
    configs = webhooks.configurations(webhooks.by_url("https://127.0.0.1:9443", b"CA"), "system:serviceaccount:s:op")
    entries = [w for config in configs for w in config["webhooks"]]
    assert {w["name"] for w in entries} == {e.webhook_name for e in webhooks.ENDPOINTS}
    for w in entries:
        assert w["failurePolicy"] == "Fail" and w["timeoutSeconds"] <= 5
        assert [r["apiGroups"] for r in w["rules"]] == [["strongroom.dev"]]
        assert w["clientConfig"]["url"].endswith("/" + w["name"].split(".")[0])
        assert w["matchConditions"] == [{
            "name": "not-the-operator",
            "expression": 'request.userInfo.username != "system:serviceaccount:s:op"',
        }]


def test_in_a_cluster_the_webhooks_are_reached_through_the_service() -> None:
    config = webhooks.by_service("strongroom-system", "strongroom-webhook", 443, b"CA")(webhooks.STAMP_REVIEW)
    assert config["service"] == {"namespace": "strongroom-system", "name": "strongroom-webhook", "port": 443,
                                 "path": "/stamp-review"}
