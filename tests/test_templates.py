"""Dataflow Flex Templates cannot drift from the pipelines: each template's metadata.json
parameters are exactly its job's PipelineOptions (names, order, required, help text,
defaults), its Dockerfile builds on the Beam version pyproject.toml pins, its main.py only
calls the pipeline module, and Terraform launches it with parameters it declares.

A template is one line of TEMPLATES: (folder, the job's module, whose OPTIONS are the
template's parameters and REQUIRED those that are not optional)."""

import argparse
import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import reconcile, statements, streaming

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [("streaming", streaming), ("reconcile", reconcile), ("statements", statements)]


def declared_parameters(classes: tuple[type[PipelineOptions], ...], required: tuple[str, ...]) -> list[dict]:
    """The flags `classes` declare, as Flex Template parameters (not optional: `required`)."""
    parameters = []
    for cls in classes:
        parser = argparse.ArgumentParser()
        cls._add_argparse_args(parser)
        for action in parser._actions:
            if action.dest == "help":
                continue
            parameter = {"name": action.dest, "helpText": action.help, "isOptional": action.dest not in required}
            if action.default is not None:
                parameter["defaultValue"] = str(action.default)
            parameters.append(parameter)
    return parameters


def template_drift(
    classes: tuple[type[PipelineOptions], ...], required: tuple[str, ...], metadata_path: Path
) -> list[str]:
    """Every difference between a template's parameters and its job's options."""
    metadata = json.loads(metadata_path.read_text())
    ours = [
        {key: value for key, value in parameter.items() if key in ("name", "helpText", "isOptional", "defaultValue")}
        for parameter in metadata["parameters"]
    ]
    expected = declared_parameters(classes, required)
    if [p["name"] for p in ours] != [p["name"] for p in expected]:
        return [f"names: metadata {[p['name'] for p in ours]} != options {[p['name'] for p in expected]}"]
    return [
        f"{want['name']}: metadata {got} != options {want}"
        for got, want in zip(ours, expected, strict=True)
        if got != want
    ]


@pytest.mark.parametrize(("name", "job"), TEMPLATES)
def test_metadata_parameters_are_the_pipeline_options(name: str, job) -> None:
    assert set(job.REQUIRED) <= {p["name"] for p in declared_parameters(job.OPTIONS, ())}
    assert template_drift(job.OPTIONS, job.REQUIRED, ROOT / "templates" / name / "metadata.json") == []


@pytest.mark.parametrize(("name", "job"), TEMPLATES)
def test_metadata_labels_and_regexes(name: str, job) -> None:
    metadata = json.loads((ROOT / "templates" / name / "metadata.json").read_text())
    assert metadata["name"] and metadata["description"]
    for parameter in metadata["parameters"]:
        assert parameter["label"], parameter["name"]
        for pattern in parameter.get("regexes", []):
            re.compile(pattern)


def test_drift_is_reported() -> None:
    class Extra(PipelineOptions):
        @classmethod
        def _add_argparse_args(cls, parser) -> None:
            parser.add_argument("--extra", help="not in the template")

    metadata = ROOT / "templates/streaming/metadata.json"
    drift = template_drift((*streaming.OPTIONS, Extra), streaming.REQUIRED, metadata)
    assert drift and "extra" in drift[0]
    drift = template_drift(streaming.OPTIONS, (*streaming.REQUIRED, "kid"), metadata)
    assert len(drift) == 1 and drift[0].startswith("kid:")  # marked optional, but now required


def test_streaming_regexes_accept_what_terraform_passes() -> None:
    parameters = {
        p["name"]: p for p in json.loads((ROOT / "templates/streaming/metadata.json").read_text())["parameters"]
    }
    examples = {
        "store": "gcp://billing-receipts-prod?instance=receipts&database=receipts&bucket=billing-receipts-prod-receipts-archive",
        "signer": "kms://projects/p/locations/us/keyRings/receipts/cryptoKeys/receipt-signing/cryptoKeyVersions/3",
        "archive": "gs://billing-receipts-prod-receipts-archive/receipts",
    }
    for name, value in examples.items():
        assert all(re.fullmatch(pattern, value) for pattern in parameters[name]["regexes"]), name
    assert not re.fullmatch(parameters["signer"]["regexes"][0], "file:///keys/k.pem")
    # The delegated signer Terraform passes with delegated_window set (environments/*/main.tf: job_signer).
    ring = "projects/p/locations/us/keyRings/receipts/cryptoKeys"
    delegated = (
        f"delegated://kms/{ring}/receipt-signing/cryptoKeyVersions/3?wrap={ring}/delegated-key-wrapping&window=1d"
    )
    for template in ("streaming", "statements"):
        metadata = json.loads((ROOT / "templates" / template / "metadata.json").read_text())["parameters"]
        [signer] = [p for p in metadata if p["name"] == "signer"]
        assert all(re.fullmatch(pattern, delegated) for pattern in signer["regexes"]), template
        assert not re.fullmatch(signer["regexes"][0], "delegated://local/keys?window=1d")  # no local KEK on workers


@pytest.mark.parametrize(("name", "job"), TEMPLATES)
def test_dockerfile_pins_the_beam_version_of_pyproject(name: str, job) -> None:
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["pipelines"]
    [beam] = [pin.split("==")[1] for pin in pins if pin.startswith("apache-beam==")]
    dockerfile = (ROOT / "templates" / name / "Dockerfile").read_text()
    assert f"ARG BEAM_VERSION={beam}\n" in dockerfile
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in dockerfile
    [entry] = re.findall(r"ENV FLEX_TEMPLATE_PYTHON_PY_FILE=/template/(\S+)", dockerfile)
    assert entry == f"templates/{name}/main.py" and (ROOT / entry).is_file()


@pytest.mark.parametrize(
    "dockerfile", [*sorted(ROOT.glob("templates/*/Dockerfile")), ROOT / "verifier_site/Dockerfile"]
)
def test_dockerfiles_copy_files_that_exist(dockerfile: Path) -> None:
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"{dockerfile}: {source}"


@pytest.mark.parametrize(
    "dockerfile", [*sorted(ROOT.glob("templates/*/Dockerfile")), ROOT / "verifier_site/Dockerfile"]
)
def test_dockerfiles_copy_every_package_the_project_installs(dockerfile: Path) -> None:
    """`pip install .` in the image installs what was copied: a package left out would be
    missing from the image (the `receipts` command needs receipts_cli)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in patterns if "." not in pattern}
    copied = {line.split()[1] for line in dockerfile.read_text().splitlines() if line.startswith("COPY ")}
    assert packages <= copied, f"{dockerfile} does not copy {sorted(packages - copied)}"


@pytest.mark.parametrize(("name", "job"), TEMPLATES)
def test_main_only_calls_the_pipeline_module(name: str, job) -> None:
    tree = ast.parse((ROOT / "templates" / name / "main.py").read_text())
    statements = [node for node in tree.body if not isinstance(node, ast.Expr)]  # the docstring
    assert isinstance(statements[0], ast.ImportFrom) and statements[0].module == f"pipelines.{name}"
    assert [alias.name for alias in statements[0].names] == ["main"]
    assert isinstance(statements[1], ast.If) and ast.unparse(statements[1]) == "if __name__ == '__main__':\n    main()"


def test_terraform_launches_the_streaming_template_with_its_parameters() -> None:
    text = (ROOT / "terraform/modules/dataflow/main.tf").read_text()
    block = text[text.index("parameters = merge(") :]
    passed = set(re.findall(r"^\s+(\w+)\s+=", block[: block.index("var.kid ==")], re.MULTILINE))
    passed |= set(re.findall(r"\{ (\w+) = ", block[block.index("var.kid ==") :]))  # the optional ones: kid, witnesses
    parameters = json.loads((ROOT / "templates/streaming/metadata.json").read_text())["parameters"]
    assert passed == {p["name"] for p in parameters}
