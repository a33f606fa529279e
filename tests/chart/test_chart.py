"""The chart: generated from its sources, lint-clean, strict about values, and running the operator's
real command line as a locked-down, non-root container."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from strongroom.api.common import DURATION_PATTERN
from strongroom.cli.operator_cmd import operator_command
from strongroom.codegen import chart as chartgen
from strongroom.codegen import crds as crdgen
from strongroom.codegen import rbac
from strongroom.webhook import configurations as webhooks
from tests.chart.helm import CHART, Tools, of_kind

DOCKERFILE = CHART.parents[1] / "Dockerfile"
MODES = {
    "service": {},
    "url": {"webhook": {"url": "https://127.0.0.1:9443"}},
    "cert-manager": {"webhook": {"certManager": {"enabled": True}}},
}
HELM_LABELS = {"helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
               "app.kubernetes.io/managed-by"}


def test_the_generated_chart_files_are_up_to_date() -> None:
    drifted = chartgen.drifted(CHART, chartgen.render_all())
    assert not drifted, f"{', '.join(drifted)} out of date: run `python -m strongroom.codegen.chart`"


def test_check_mode_names_drifted_files_and_writing_fixes_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    assert chartgen.main(["--chart", str(tmp_path), "--check"]) == 1
    assert "templates/clusterroles.yaml" in capsys.readouterr().err
    assert chartgen.main(["--chart", str(tmp_path)]) == 0
    (tmp_path / "crds" / "widgets.strongroom.dev.yaml").write_text("left over")
    assert chartgen.main(["--chart", str(tmp_path), "--check"]) == 1
    assert chartgen.main(["--chart", str(tmp_path)]) == 0
    assert chartgen.main(["--chart", str(tmp_path), "--check"]) == 0


def test_the_chart_crds_are_the_repository_crds() -> None:
    for name, text in crdgen.render_all().items():
        assert (CHART / "crds" / name).read_text() == text == (crdgen.DEFAULT_OUT / name).read_text()


def test_a_release_named_strongroom_renders_exactly_the_roles_of_rbac_py(tools: Tools) -> None:
    rendered = of_kind(tools.template(), "ClusterRole")
    for role in rendered:
        assert role["metadata"]["labels"].keys() >= HELM_LABELS
        role["metadata"]["labels"] = {k: v for k, v in role["metadata"]["labels"].items() if k not in HELM_LABELS}
    assert rendered == rbac.all_cluster_roles()


def test_the_webhook_configurations_are_webhooks_py_without_the_ca(tools: Tools) -> None:
    rendered = tools.template(MODES["url"], namespace="sr")
    configurations = [d for d in rendered if d["kind"].endswith("WebhookConfiguration")]
    expected = webhooks.configurations(webhooks.by_url("https://127.0.0.1:9443", b""),
                                       "system:serviceaccount:sr:strongroom")
    for config in [*configurations, *expected]:
        config["metadata"].pop("annotations", None)
        config["metadata"]["labels"] = {"app.kubernetes.io/part-of": "strongroom"}
        for webhook in config["webhooks"]:
            webhook["clientConfig"].pop("caBundle", None)
    assert configurations == expected
    service = tools.template(MODES["service"], namespace="sr")
    config = next(d for d in service if d["kind"] == "ValidatingWebhookConfiguration")
    assert config["webhooks"][0]["clientConfig"] == {"service": webhooks.by_service(
        "sr", "strongroom-webhook", 443, b"")(webhooks.CHECK_REQUEST_UPDATE)["service"]}


@pytest.mark.parametrize("mode", MODES)
def test_lint_is_clean_in_every_webhook_mode(tools: Tools, mode: str) -> None:
    result = tools.run("helm", "lint", "--strict", str(CHART), "--kube-version", "1.34.0",
                       "-f", tools.values_file(MODES[mode]))
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(("values", "reason"), [
    ({"replicaCount": 2}, "maximum"),
    ({"vaultNamespaces": ["Not_A_Namespace"]}, "vaultNamespaces"),
    ({"retention": "30 days"}, "retention"),
    ({"webhook": {"url": "http://insecure:80"}}, "url"),
    ({"typo": True}, "typo"),
    ({"webhook": {"url": "https://127.0.0.1:9443", "certManager": {"enabled": True}}}, "exclude each other"),
])
def test_bad_values_are_refused(tools: Tools, values: dict, reason: str) -> None:
    result = tools.run("helm", "template", "x", str(CHART), "--kube-version", "1.34.0",
                       "-f", tools.values_file(values), check=False)
    assert result.returncode != 0 and reason in result.stderr, result.stderr


def test_the_schema_checks_retention_with_the_api_duration_syntax() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["properties"]["retention"]["pattern"] == DURATION_PATTERN


@pytest.mark.parametrize("mode", MODES)
def test_the_deployment_runs_strongroom_operator_with_flags_it_accepts(tools: Tools, mode: str) -> None:
    (deployment,) = of_kind(tools.template({**MODES[mode], "watchNamespaces": ["a", "b"]}, namespace="sr"),
                            "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][0] == "operator"
    params = operator_command.make_context("operator", container["args"][1:]).params
    assert params["operator_namespace"] == "sr" and params["watch_namespaces"] == ("a", "b")
    reach = {key: params[key] for key in ("webhook_url", "webhook_service", "webhook_cert_dir")}
    assert reach == {
        "service": {"webhook_url": None, "webhook_service": "sr/strongroom-webhook:443", "webhook_cert_dir": None},
        "url": {"webhook_url": "https://127.0.0.1:9443", "webhook_service": None, "webhook_cert_dir": None},
        "cert-manager": {"webhook_url": None, "webhook_service": None,
                         "webhook_cert_dir": Path("/var/run/strongroom/webhook")},
    }[mode]
    probed = container["livenessProbe"]["httpGet"]["port"]
    health = next(p["containerPort"] for p in container["ports"] if p["name"] == probed)
    assert params["liveness"] == f"http://0.0.0.0:{health}/healthz"
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"


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
    assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])  # the generated webhook certificate
    stages = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    users = re.findall(r"^USER\s+(\d+):(\d+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert len(stages) >= 2, "the image is built in a separate stage"
    assert users == [(str(pod["securityContext"]["runAsUser"]), str(pod["securityContext"]["runAsGroup"]))]
    assert int(users[0][0]) != 0
