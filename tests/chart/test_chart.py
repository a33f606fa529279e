"""The chart: generated from its sources, lint-clean, strict about values, always on (several replicas,
one leading, none stopped before another is ready), and running the operator's real command line as a
locked-down, non-root container."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from strongroom.api.common import DURATION_PATTERN
from strongroom.cli.operator_cmd import operator_command
from strongroom.codegen import chart as chartgen
from strongroom.codegen import crds as crdgen
from strongroom.codegen import rbac
from strongroom.policy.durations import parse_duration
from strongroom.runtime.leader import LeaseSettings, leader_fence
from strongroom.webhook import configurations as webhooks
from strongroom.webhook import policies
from tests.chart.helm import CHART, Tools, of_kind

DOCKERFILE = CHART.parents[1] / "Dockerfile"
# How the webhook gets its serving certificate. There is no URL mode any more: the operator takes no
# --webhook-url, and the fence policy refuses the writes of an operator outside a pod holding the Lease,
# so an operator run outside the cluster under the chart's identity could not work.
MODES: dict[str, dict[str, Any]] = {
    "service": {},
    "cert-manager": {"webhook": {"certManager": {"enabled": True}}},
}
# Every optional part at once.
EVERYTHING: dict[str, Any] = {
    "replicaCount": 3,
    "webhook": {"clientCA": {"secretName": "apiserver-webhook-client"},
                "networkPolicy": {"enabled": True, "cidrs": ["10.0.0.0/24"],
                                  "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                  "podSelector": {"matchLabels": {"app": "konnectivity-agent"}},
                                  "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]}},
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                   "whenUnsatisfiable": "DoNotSchedule"}],
}
HELM_LABELS = {"helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
               "app.kubernetes.io/managed-by"}


def without_helm_labels(doc: dict[str, Any]) -> dict[str, Any]:
    labels = doc["metadata"]["labels"]
    assert labels.keys() >= HELM_LABELS, doc["metadata"]["name"]
    doc["metadata"]["labels"] = {k: v for k, v in labels.items() if k not in HELM_LABELS}
    return doc


def the(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = of_kind(docs, kind)
    return doc


def container_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = the(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def operator_params(container: dict[str, Any]) -> dict[str, Any]:
    """The Deployment's command line as `strongroom operator` parses it (an unknown flag fails here)."""
    assert container["args"][0] == "operator"
    return operator_command.make_context("operator", container["args"][1:]).params


def port(container: dict[str, Any], name: str) -> int:
    return next(p["containerPort"] for p in container["ports"] if p["name"] == name)


# -- generated from the sources ---------------------------------------------------------------------


def test_the_generated_chart_files_are_up_to_date() -> None:
    drifted = chartgen.drifted(CHART, chartgen.render_all())
    assert not drifted, f"{', '.join(drifted)} out of date: run `python -m strongroom.codegen.chart`"
    assert chartgen.main(["--check"]) == 0
    assert crdgen.main(["--check"]) == 0


def test_check_mode_names_drifted_files_and_writing_fixes_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    assert chartgen.main(["--chart", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    for generated in ("templates/clusterroles.yaml", "templates/webhookconfigurations.yaml",
                      "templates/admissionpolicies.yaml", "templates/leaderfence.yaml"):
        assert generated in err
    assert chartgen.main(["--chart", str(tmp_path)]) == 0
    (tmp_path / "crds" / "widgets.strongroom.dev.yaml").write_text("left over")
    assert chartgen.main(["--chart", str(tmp_path), "--check"]) == 1
    assert chartgen.main(["--chart", str(tmp_path)]) == 0
    assert chartgen.main(["--chart", str(tmp_path), "--check"]) == 0


def test_the_chart_crds_are_the_repository_crds() -> None:
    for name, text in crdgen.render_all().items():
        assert (CHART / "crds" / name).read_text() == text == (crdgen.DEFAULT_OUT / name).read_text()


def test_a_release_named_strongroom_renders_exactly_the_roles_of_rbac_py(tools: Tools) -> None:
    rendered = [without_helm_labels(role) for role in of_kind(tools.template(), "ClusterRole")]
    assert rendered == rbac.all_cluster_roles()


def test_no_role_is_aggregated_into_admin_or_edit(tools: Tools) -> None:
    roles = of_kind(tools.template(release="acme"), "ClusterRole")
    aggregated = {label.rpartition("aggregate-to-")[2]: role["metadata"]["name"]
                  for role in roles for label in role["metadata"]["labels"] if "aggregate-to-" in label}
    assert aggregated == {"view": "acme-strongroom-view"}


def test_the_webhook_configuration_is_configurations_py_without_the_ca(tools: Tools) -> None:
    (config,) = [d for d in tools.template(namespace="vaults", release="acme") if d["kind"].endswith("Configuration")]
    assert config["kind"] == "MutatingWebhookConfiguration"
    assert config["metadata"].pop("annotations") == {}  # the operator adds the CA, not cert-manager
    expected = webhooks.configuration(webhooks.by_service("vaults", "acme-strongroom-webhook"),
                                      "system:serviceaccount:vaults:acme-strongroom")
    assert without_helm_labels(config) == expected
    assert all("caBundle" not in w["clientConfig"] for w in config["webhooks"])
    (cert_managed,) = of_kind(tools.template(MODES["cert-manager"], namespace="vaults", release="acme"),
                              "MutatingWebhookConfiguration")
    assert cert_managed["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "vaults/acme-strongroom-webhook"}


def test_the_admission_policies_are_policies_py_for_the_release(tools: Tools) -> None:
    docs = tools.template({"leaderElection": {"leaseName": "acme-leader"}}, "acme", "vaults")
    rendered = [without_helm_labels(d) for d in docs if d["kind"].startswith("ValidatingAdmissionPolicy")]
    expected = policies.all_policies("system:serviceaccount:vaults:acme-strongroom", "vaults", "acme-leader")
    by_kind_and_name = lambda doc: (doc["kind"], doc["metadata"]["name"])  # noqa: E731  (Helm sorts by kind)
    assert sorted(rendered, key=by_kind_and_name) == sorted(expected, key=by_kind_and_name)
    assert [d["kind"] for d in rendered].count("ValidatingAdmissionPolicyBinding") == 3
    fence = next(d for d in rendered if d["metadata"]["name"] == policies.FENCE and d["kind"].endswith("Binding"))
    assert fence["spec"]["paramRef"]["name"] == "acme-leader"
    assert not [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"]


def test_the_leader_fence_is_installed_where_the_operator_and_the_fence_policy_look(tools: Tools) -> None:
    docs = tools.template({"leaderElection": {"leaseName": "acme-leader"}}, "acme", "vaults")
    fence = without_helm_labels(the(docs, "LeaderFence"))
    assert fence == {**leader_fence("acme-leader", "vaults"), "spec": {}}, "no holder: an upgrade never unseats one"
    params = operator_params(container_of(docs))
    assert (params["lease_name"], params["operator_namespace"]) == ("acme-leader", "vaults")


def test_the_operator_may_use_leases_and_secrets_in_its_own_namespace_only(tools: Tools) -> None:
    docs = tools.template({"vaultNamespaces": ["vault-a", "vault-b"]}, "acme", "vaults")
    subject = [{"kind": "ServiceAccount", "name": "acme-strongroom", "namespace": "vaults"}]
    bindings = {(b["metadata"]["namespace"], b["roleRef"]["name"]): b for b in of_kind(docs, "RoleBinding")}
    assert set(bindings) == {("vaults", "acme-strongroom-operator-leader"), ("vaults", "acme-strongroom-vault-access"),
                             ("vault-a", "acme-strongroom-vault-access"), ("vault-b", "acme-strongroom-vault-access")}
    assert all(b["subjects"] == subject and b["roleRef"]["kind"] == "ClusterRole" for b in bindings.values())
    roles = {r["metadata"]["name"]: r for r in of_kind(docs, "ClusterRole")}
    assert roles["acme-strongroom-operator-leader"]["rules"] == rbac.leader_role()["rules"]
    (cluster_binding,) = of_kind(docs, "ClusterRoleBinding")
    assert cluster_binding["roleRef"]["name"] == "acme-strongroom-operator"  # nothing else cluster-wide


# -- lint and values ----------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [*MODES.values(), EVERYTHING, {"replicaCount": 1}],
                         ids=[*MODES, "everything", "one-replica"])
def test_lint_is_clean(tools: Tools, values: dict[str, Any]) -> None:
    result = tools.run("helm", "lint", "--strict", str(CHART), "--kube-version", "1.34.0",
                       "-f", tools.values_file(values))
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(("values", "reason"), [
    ({"replicaCount": -1}, "minimum"),
    ({"vaultNamespaces": ["Not_A_Namespace"]}, "vaultNamespaces"),
    ({"retention": "30 days"}, "retention"),
    ({"webhook": {"url": "https://127.0.0.1:9443"}}, "url"),  # the development URL mode is gone
    ({"typo": True}, "typo"),
    ({"webhook": {"clientCA": {"secretName": "a", "configMapName": "b"}}}, "not both"),
    ({"webhook": {"networkPolicy": {"enabled": True}}}, "needs cidrs or a namespaceSelector"),
    ({"webhook": {"networkPolicy": {"enabled": True, "cidrs": ["10.0.0.1"]}}}, "cidrs"),
    ({"replicaCount": 2, "podDisruptionBudget": {"minAvailable": 2}}, "below replicaCount"),
    ({"leaderElection": {"renewDeadlineSeconds": 20}}, "retryPeriodSeconds < renewDeadlineSeconds"),
    ({"leaderElection": {"retryPeriodSeconds": 0}}, "retryPeriodSeconds"),
    ({"metrics": {"serviceMonitor": {"interval": "often"}}}, "interval"),
])
def test_bad_values_are_refused(tools: Tools, values: dict, reason: str) -> None:
    result = tools.run("helm", "template", "x", str(CHART), "--kube-version", "1.34.0",
                       "-f", tools.values_file(values), check=False)
    assert result.returncode != 0 and reason in result.stderr, result.stderr


def test_the_schema_checks_retention_with_the_api_duration_syntax() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["properties"]["retention"]["pattern"] == DURATION_PATTERN


def test_every_value_is_in_the_schema() -> None:
    """values.schema.json refuses unknown keys, so a value in values.yaml without a schema entry would
    fail lint; this names the key instead."""
    schema = json.loads((CHART / "values.schema.json").read_text())

    def walk(values: dict[str, Any], node: dict[str, Any], path: str) -> None:
        node = schema["definitions"][node["$ref"].rpartition("/")[2]] if "$ref" in node else node
        for key, value in values.items():
            if node.get("type") != "object" or "properties" not in node:
                return
            assert key in node["properties"], f"{path}{key} is not in values.schema.json"
            if isinstance(value, dict):
                walk(value, node["properties"][key], f"{path}{key}.")

    walk(yaml.safe_load((CHART / "values.yaml").read_text()), schema, "")


# -- the operator's command line ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_the_deployment_runs_strongroom_operator_with_flags_it_accepts(tools: Tools, mode: str) -> None:
    docs = tools.template({**MODES[mode], "watchNamespaces": ["a", "b"]}, "strongroom", "sr")
    container = container_of(docs)
    params = operator_params(container)
    assert params["operator_namespace"] == "sr" and params["watch_namespaces"] == ("a", "b")
    assert params["webhook_service"] == "sr/strongroom-webhook"  # its names go into the shared certificate
    assert params["webhook_cert_dir"] == {"service": None, "cert-manager": Path("/var/run/strongroom/webhook")}[mode]
    assert params["webhook_client_ca"] is None
    assert params["webhook_listen"] == f"0.0.0.0:{port(container, 'webhook')}"
    assert params["health_listen"] == f"0.0.0.0:{port(container, 'metrics')}"
    assert params["retention"] == "30d" and params["workers"] == 16
    if mode == "cert-manager":
        mount = next(m for m in container["volumeMounts"] if m["name"] == "webhook-cert")
        assert mount["mountPath"] == str(params["webhook_cert_dir"]) and mount["readOnly"]
        volume = next(v for v in the(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
                      if v["name"] == "webhook-cert")
        serving = next(c for c in of_kind(docs, "Certificate") if not c["spec"].get("isCA"))
        # cert-manager's Secret, not the one the replicas share by default (switching modes must not clash)
        assert volume["secret"]["secretName"] == serving["spec"]["secretName"] != policies.WEBHOOK_TLS_SECRET


def test_leader_election_is_on_with_the_values_timings(tools: Tools) -> None:
    timings = {"leaseDurationSeconds": 30, "renewDeadlineSeconds": 20, "retryPeriodSeconds": 5}
    params = operator_params(container_of(tools.template({"leaderElection": timings})))
    assert params["leader_elect"] is True and params["lease_name"] == "strongroom-operator"
    settings = LeaseSettings(params["lease_name"], params["operator_namespace"], "pod",
                             *(parse_duration(params[k]) for k in ("lease_duration", "renew_deadline", "retry_period")))
    assert [int(t.total_seconds()) for t in (settings.duration, settings.renew_deadline, settings.retry_period)] == \
        [30, 20, 5]


def test_each_replica_is_known_by_its_pod_name(tools: Tools) -> None:
    container = container_of(tools.template())
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert "identity" not in " ".join(container["args"])  # --identity defaults to $POD_NAME


@pytest.mark.parametrize("source", ["secretName", "configMapName"])
def test_the_client_ca_is_mounted_read_only_and_required_of_callers(tools: Tools, source: str) -> None:
    docs = tools.template({"webhook": {"clientCA": {source: "apiserver-ca", "key": "client-ca.pem"}}})
    container = container_of(docs)
    ca = operator_params(container)["webhook_client_ca"]
    mount = next(m for m in container["volumeMounts"] if str(ca).startswith(m["mountPath"] + "/"))
    assert mount["readOnly"] is True
    volume = next(v for v in the(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == mount["name"])
    kind, name_key = {"secretName": ("secret", "secretName"), "configMapName": ("configMap", "name")}[source]
    assert volume[kind][name_key] == "apiserver-ca"
    assert volume[kind]["items"] == [{"key": "client-ca.pem", "path": ca.name}]


# -- always on ------------------------------------------------------------------------------------------


def test_two_replicas_roll_one_at_a_time_and_a_drain_leaves_one(tools: Tools) -> None:
    docs = tools.template()
    deployment = the(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    budget = the(docs, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= \
        deployment["spec"]["template"]["metadata"]["labels"].items()
    assert not of_kind(tools.template({"replicaCount": 1}), "PodDisruptionBudget")  # it would block every drain
    assert not of_kind(tools.template({"podDisruptionBudget": {"enabled": False}}), "PodDisruptionBudget")


def test_replicas_spread_over_nodes_unless_the_values_say_otherwise(tools: Tools) -> None:
    pod = the(tools.template(), "Deployment")["spec"]["template"]
    (spread,) = pod["spec"]["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["whenUnsatisfiable"]) == ("kubernetes.io/hostname", "ScheduleAnyway")
    assert spread["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    pod = the(tools.template(EVERYTHING), "Deployment")["spec"]["template"]
    (spread,) = pod["spec"]["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["whenUnsatisfiable"]) == ("topology.kubernetes.io/zone", "DoNotSchedule")
    assert spread["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()


def test_probes_ask_the_health_endpoint_and_readiness_is_not_leadership(tools: Tools) -> None:
    container = container_of(tools.template())
    health = operator_params(container)["health_listen"].rpartition(":")[2]
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path and port(container, get["port"]) == int(health), probe
    assert container["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}
    assert "lifecycle" not in container_of(tools.template({"shutdownDelaySeconds": 0}))


def test_the_service_reaches_every_replicas_webhook_and_metrics(tools: Tools) -> None:
    docs = tools.template()
    service, pod = the(docs, "Service"), the(docs, "Deployment")["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert "publishNotReadyAddresses" not in service["spec"]  # the webhook fails closed: ready replicas only
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert (ports["webhook"]["port"], ports["webhook"]["targetPort"]) == (443, "webhook")
    assert ports["metrics"]["targetPort"] == "metrics"
    (config,) = of_kind(docs, "MutatingWebhookConfiguration")
    assert {w["clientConfig"]["service"]["name"] for w in config["webhooks"]} == {service["metadata"]["name"]}


def test_a_service_monitor_only_when_asked_for(tools: Tools) -> None:
    assert not of_kind(tools.template(), "ServiceMonitor")
    docs = tools.template(EVERYTHING, "strongroom", "sr")
    monitor, service = the(docs, "ServiceMonitor"), the(docs, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["sr"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics" and endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


def test_the_network_policy_lets_only_the_given_sources_reach_the_webhook(tools: Tools) -> None:
    assert not of_kind(tools.template(), "NetworkPolicy")
    docs = tools.template(EVERYTHING)
    policy, pod = the(docs, "NetworkPolicy"), the(docs, "Deployment")["spec"]["template"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    rules = {rule["ports"][0]["port"]: rule.get("from") for rule in policy["spec"]["ingress"]}
    assert rules == {
        "webhook": [{"ipBlock": {"cidr": "10.0.0.0/24"}},
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                     "podSelector": {"matchLabels": {"app": "konnectivity-agent"}}}],
        "metrics": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
    }


def test_the_notes_say_who_leads_and_how_to_fail_over(tools: Tools) -> None:
    notes = tools.notes(release="acme", namespace="vaults")
    assert "strongroom operator status --operator-namespace vaults" in notes
    assert "strongroom operator failover --operator-namespace vaults" in notes
    assert "kubectl -n vaults get lease strongroom-operator -o jsonpath='{.spec.holderIdentity}" in notes
    assert "--clusterrole=acme-strongroom-requester" in notes
    assert not re.search(r"aggregated into the built-in admin, edit", notes)
    assert "refused whenever" not in notes and "refused whenever" in tools.notes({"replicaCount": 1})


# -- locked down ----------------------------------------------------------------------------------------


def test_the_container_is_locked_down_and_its_uid_is_the_images_user(tools: Tools) -> None:
    (deployment,) = of_kind(tools.template(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["requests"].keys() == {"cpu", "memory"}
    assert {"livenessProbe", "readinessProbe"} <= container.keys()
    assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])  # the webhook certificate's files
    stages = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    users = re.findall(r"^USER\s+(\d+):(\d+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert len(stages) >= 2, "the image is built in a separate stage"
    assert users == [(str(pod["securityContext"]["runAsUser"]), str(pod["securityContext"]["runAsGroup"]))]
    assert int(users[0][0]) != 0
