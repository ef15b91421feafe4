"""`modelplane promote` against a moto model registry, on copies of the shipped stack files: only the
version value changes, only for an approved version, and a refusal leaves the file untouched."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from modelplane.aws import Aws
from modelplane.cli import main
from modelplane.config.loader import load_stack_file
from modelplane.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.live.register import IMAGE_DIGEST_KEY, MODEL_SHA256_KEY
from modelplane.timewindow import iso

REGION = "eu-west-1"  # staging's and prod's


@pytest.fixture
def stacks(project_copy: Path) -> Path:
    """The stack files of a copy of the project, which the command edits instead of the real ones."""
    return project_copy / "stacks"


@pytest.fixture(scope="module")
def sagemaker_client() -> Any:
    """The tests' own SageMaker client, built once (≈15 ms a client): moto's patching lets it reach the
    registry of whichever `mock_aws` is active; `promote` makes its own client, as it would."""
    with mock_aws():
        return Aws.connect(REGION, None).client("sagemaker")


@pytest.fixture
def sagemaker(sagemaker_client: Any) -> Iterator[Any]:
    """An empty moto registry for each test (`mock_aws` starts with every service reset)."""
    with mock_aws():
        yield sagemaker_client


def register_versions(
    sagemaker: Any,
    group: str,
    count: int,
    statuses: Mapping[int, str] | None = None,
    artifacts: Mapping[int, str] | None = None,
) -> None:
    """Versions 1..count of a model package group, Approved unless `statuses` says otherwise; `artifacts`
    names the image and archive `modelplane register` would have recorded on a version (by a seed)."""
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    for version in range(1, count + 1):
        recorded = {}
        if artifacts and version in artifacts:
            seed = artifacts[version]
            recorded = {
                "CustomerMetadataProperties": {
                    IMAGE_DIGEST_KEY: "sha256:" + hashlib.sha256(f"image {seed}".encode()).hexdigest(),
                    MODEL_SHA256_KEY: hashlib.sha256(f"model {seed}".encode()).hexdigest(),
                }
            }
        sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus=(statuses or {}).get(version, "Approved"),
            InferenceSpecification={
                "Containers": [{"Image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{group}:{version}"}],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            **recorded,
        )


def approval(sagemaker: Any, group: str, version: int) -> str:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{group}/{version}"
    return sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]


def changed_lines(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    """The (old, new) pairs of lines that differ, given that no line was added or removed."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def promote(*arguments: str) -> int:
    return main(["promote", *arguments])


def test_an_approved_version_is_pinned_changing_only_its_line(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 13)
    path = stacks / "Pulumi.staging.yaml"
    path.chmod(0o640)
    before = path.read_bytes()

    assert promote("--stack", "staging", "--endpoint", "fraud", "--variant", "challenger", "--version", "13") == 0

    after = path.read_bytes()
    assert changed_lines(before, after) == [
        (b"          model_package_version: 12\n", b"          model_package_version: 13\n")
    ]
    fraud = load_stack_file(path).endpoints[0]
    assert [(v.name, v.model_package_version) for v in fraud.variants] == [("champion", 11), ("challenger", 13)]
    printed = capsys.readouterr().out
    assert "fraud-detector-staging version 13: Approved\n" in printed
    assert "--- a/stacks/Pulumi.staging.yaml\n+++ b/stacks/Pulumi.staging.yaml\n" in printed
    assert "-          model_package_version: 12\n+          model_package_version: 13\n" in printed
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in stacks.iterdir() if p.name.startswith(".")) == [], "no temp file is left"


def test_a_shadow_variant_can_be_promoted(stacks: Path, sagemaker: Any) -> None:
    register_versions(sagemaker, "churn-staging", 6)
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_bytes()

    assert promote("--stack", "staging", "--endpoint", "churn", "--variant", "candidate", "--version", "6") == 0

    assert changed_lines(before, path.read_bytes()) == [
        (b"        model_package_version: 5\n", b"        model_package_version: 6\n")
    ]


def test_an_unapproved_version_is_refused_and_the_file_untouched(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 13, {13: "PendingManualApproval"})
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_bytes()

    exit_code = promote("--stack", "staging", "--endpoint", "fraud", "--variant", "challenger", "--version", "13")

    assert exit_code == EXIT_FAILED
    assert path.read_bytes() == before
    assert capsys.readouterr().err == (
        "modelplane promote: fraud-detector-staging version 13 is PendingManualApproval;"
        " approve it in the registry, or pass --approve\n"
    )
    assert approval(sagemaker, "fraud-detector-staging", 13) == "PendingManualApproval"


def test_approve_sets_the_registry_status_then_pins(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 13, {13: "PendingManualApproval"})
    path = stacks / "Pulumi.staging.yaml"

    arguments = ("--stack", "staging", "--endpoint", "fraud", "--variant", "challenger", "--version", "13")
    assert promote(*arguments, "--approve") == EXIT_OK

    assert approval(sagemaker, "fraud-detector-staging", 13) == "Approved"
    assert "fraud-detector-staging version 13: PendingManualApproval -> Approved (--approve)" in capsys.readouterr().out
    assert load_stack_file(path).endpoints[0].variants[1].model_package_version == 13


@pytest.mark.parametrize(
    ("statuses", "version", "message"),
    [
        ({13: "Rejected"}, "13", "fraud-detector-staging version 13 was Rejected; promote another version"),
        (
            {},
            "99",
            "fraud-detector-staging version 99 is not in the registry (DescribeModelPackage: ValidationException: ",
        ),
    ],
)
def test_rejected_or_missing_versions_are_refused_even_with_approve(
    stacks: Path,
    sagemaker: Any,
    capsys: pytest.CaptureFixture[str],
    *,
    statuses: dict[int, str],
    version: str,
    message: str,
) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 13, statuses)
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_bytes()

    exit_code = promote(
        *("--stack", "staging", "--endpoint", "fraud", "--variant", "challenger", "--version", version, "--approve")
    )

    assert exit_code == EXIT_FAILED
    assert path.read_bytes() == before
    assert capsys.readouterr().err.startswith(f"modelplane promote: {message}")
    if statuses:
        assert approval(sagemaker, "fraud-detector-staging", 13) == "Rejected"


def staging_champion_at_15(stacks: Path) -> Path:
    """Staging's fraud champion moved from version 11 (prod's too) to 15; the prod stack file to copy it to."""
    staging = stacks / "Pulumi.staging.yaml"
    staging.write_text(staging.read_text().replace("model_package_version: 11", "model_package_version: 15", 1))
    return stacks / "Pulumi.prod.yaml"


def test_from_to_copies_the_pinned_versions_of_matching_variants(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Staging has moved the fraud champion on to version 15 (its challenger and churn have no prod twin).
    prod = staging_champion_at_15(stacks)
    register_versions(sagemaker, "fraud-detector-staging", 15, artifacts={15: "fraud 2026-11"})
    register_versions(sagemaker, "fraud-detector-prod", 15, artifacts={15: "fraud 2026-11"})
    before = prod.read_bytes()

    assert promote("--from", "staging", "--to", "prod", "--endpoint", "fraud") == EXIT_OK

    assert changed_lines(before, prod.read_bytes()) == [
        (b"          model_package_version: 11\n", b"          model_package_version: 15\n")
    ]
    out = capsys.readouterr().out
    assert "fraud-detector-prod version 15: Approved\n" in out
    assert (
        "fraud-detector-prod version 15: the same image and model archive as fraud-detector-staging version 15\n" in out
    )


def test_from_to_refuses_a_target_version_that_is_another_artifact(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Version numbers are per group: prod's 15 was registered from another model than staging's 15."""
    prod = staging_champion_at_15(stacks)
    register_versions(sagemaker, "fraud-detector-staging", 15, artifacts={15: "fraud 2026-11"})
    register_versions(sagemaker, "fraud-detector-prod", 15, artifacts={15: "fraud 2026-10 hotfix"})
    before = prod.read_bytes()

    assert promote("--from", "staging", "--to", "prod", "--endpoint", "fraud") == EXIT_FAILED

    assert prod.read_bytes() == before
    image = "sha256:" + hashlib.sha256(b"image fraud 2026-11").hexdigest()
    assert capsys.readouterr().err == (
        "modelplane promote: fraud-detector-prod version 15 is not the artifact fraud-detector-staging version 15 is"
        f" (image {image}, model archive sha256 {hashlib.sha256(b'model fraud 2026-11').hexdigest()});"
        " register that artifact with `modelplane register --stack prod` and pin the version it prints\n"
    )


def test_from_to_says_when_the_registry_cannot_tell_the_artifacts_apart(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = staging_champion_at_15(stacks)
    register_versions(sagemaker, "fraud-detector-staging", 15)
    register_versions(sagemaker, "fraud-detector-prod", 15, artifacts={15: "fraud 2026-11"})

    assert promote("--from", "staging", "--to", "prod", "--endpoint", "fraud") == EXIT_OK

    assert load_stack_file(prod).endpoints[0].variants[0].model_package_version == 15
    assert "not `modelplane register`ed); check by hand that it is fraud-detector-staging version 15" in (
        capsys.readouterr().out
    )


def test_from_to_refuses_a_version_the_source_registry_lacks(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = staging_champion_at_15(stacks)
    register_versions(sagemaker, "fraud-detector-staging", 14)
    register_versions(sagemaker, "fraud-detector-prod", 15)
    before = prod.read_bytes()

    assert promote("--from", "staging", "--to", "prod", "--endpoint", "fraud") == EXIT_FAILED

    assert prod.read_bytes() == before
    assert capsys.readouterr().err.startswith(
        "modelplane promote: fraud-detector-staging version 15 is not in the registry (DescribeModelPackage: "
    )


def test_from_to_refuses_a_version_the_target_registry_has_not_approved(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same artifact in both registries, approved in staging's: only prod's approval is missing.
    prod = staging_champion_at_15(stacks)
    register_versions(sagemaker, "fraud-detector-staging", 15, artifacts={15: "fraud 2026-11"})
    register_versions(
        sagemaker, "fraud-detector-prod", 15, {15: "PendingManualApproval"}, artifacts={15: "fraud 2026-11"}
    )
    before = prod.read_bytes()

    assert promote("--from", "staging", "--to", "prod", "--endpoint", "fraud") == EXIT_FAILED

    assert prod.read_bytes() == before
    assert capsys.readouterr().err == (
        "modelplane promote: fraud-detector-prod version 15 is PendingManualApproval;"
        " approve it in the registry, or pass --approve\n"
    )


def test_from_to_with_equal_versions_changes_nothing_once_the_registry_confirms_them(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Staging and prod both pin the fraud champion at 11: nothing to copy, but prod's registry must still hold
    # it approved, as the same artifact as staging's.
    register_versions(sagemaker, "fraud-detector-staging", 11, artifacts={11: "fraud 2026-09"})
    register_versions(sagemaker, "fraud-detector-prod", 11, artifacts={11: "fraud 2026-09"})
    before = (stacks / "Pulumi.prod.yaml").read_bytes()

    assert promote("--from", "staging", "--to", "prod", "--endpoint", "fraud") == EXIT_OK

    assert (stacks / "Pulumi.prod.yaml").read_bytes() == before
    printed = capsys.readouterr().out
    assert "fraud-detector-prod version 11: Approved\n" in printed
    assert (
        "fraud-detector-prod version 11: the same image and model archive as fraud-detector-staging version 11"
        in printed
    )
    assert "already pins these versions: confirmed above, nothing to change" in printed


def test_an_already_pinned_version_is_still_refused_when_the_registry_has_not_approved_it(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Staging's challenger is pinned at 12 already; version 12 waits for approval in the registry.
    register_versions(sagemaker, "fraud-detector-staging", 12, {12: "PendingManualApproval"})
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_bytes()

    exit_code = promote("--stack", "staging", "--endpoint", "fraud", "--variant", "challenger", "--version", "12")

    assert exit_code == EXIT_FAILED
    assert path.read_bytes() == before
    assert capsys.readouterr().err == (
        "modelplane promote: fraud-detector-staging version 12 is PendingManualApproval;"
        " approve it in the registry, or pass --approve\n"
    )


def test_an_already_pinned_version_is_refused_when_the_registry_lacks_it(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 5)

    exit_code = promote("--stack", "staging", "--endpoint", "fraud", "--variant", "challenger", "--version", "12")

    assert exit_code == EXIT_FAILED
    assert "fraud-detector-staging version 12 is not in the registry" in capsys.readouterr().err


def test_approve_approves_an_already_pinned_version(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 12, {12: "PendingManualApproval"})
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_bytes()

    arguments = ("--stack", "staging", "--endpoint", "fraud", "--variant", "challenger", "--version", "12")
    assert promote(*arguments, "--approve") == EXIT_OK

    assert approval(sagemaker, "fraud-detector-staging", 12) == "Approved"
    assert path.read_bytes() == before
    printed = capsys.readouterr().out
    assert "fraud-detector-staging version 12: PendingManualApproval -> Approved (--approve)" in printed
    assert "already pins these versions: confirmed above, nothing to change" in printed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--stack", "qa", "--endpoint", "fraud", "--variant", "champion", "--version", "3"], "no such stack file"),
        (
            ["--stack", "staging", "--endpoint", "frod", "--variant", "champion", "--version", "3"],
            "no endpoint 'frod' (endpoints: fraud, churn, recommender)",
        ),
        (
            ["--stack", "staging", "--endpoint", "fraud", "--variant", "champ", "--version", "3"],
            "endpoint 'fraud' has no variant 'champ' (variants: champion, challenger)",
        ),
        (
            ["--stack", "local", "--endpoint", "fraud", "--variant", "current", "--version", "3"],
            "fraud/current is not pinned to the registry; add `model_package_version:` to it by hand first",
        ),
        (["--stack", "staging", "--endpoint", "fraud"], "--stack needs --variant, --version"),
        (["--from", "staging"], "--from needs --to"),
        (["--from", "staging", "--to", "staging"], "--from and --to name the same stack"),
        (["--from", "dev", "--to", "prod"], "has a pinned counterpart in"),
    ],
)
@pytest.mark.usefixtures("sagemaker")
def test_bad_usage_exits_2_and_writes_nothing(
    stacks: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    before = {path.name: path.read_bytes() for path in stacks.iterdir()}

    assert promote(*arguments) == EXIT_USAGE

    assert message in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in stacks.iterdir()} == before


def test_a_version_shared_through_a_yaml_anchor_is_left_for_a_human(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 13)
    path = stacks / "Pulumi.staging.yaml"
    text = path.read_text()
    text = text.replace("model_package_version: 11", "model_package_version: &pinned 11", 1)
    text = text.replace("model_package_version: 12", "model_package_version: *pinned", 1)
    path.write_text(text)

    exit_code = promote("--stack", "staging", "--endpoint", "fraud", "--variant", "challenger", "--version", "13")

    assert exit_code == EXIT_USAGE
    assert path.read_text() == text
    assert "edit it by hand" in capsys.readouterr().err


@pytest.mark.usefixtures("stacks")
def test_a_version_must_be_a_positive_whole_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        promote("--stack", "staging", "--endpoint", "fraud", "--variant", "champion", "--version", "0")
    assert exited.value.code == EXIT_USAGE
    assert "a model package version is a whole number from 1" in capsys.readouterr().err


# --- the compare verdict gate ---------------------------------------------------------------------


def write_verdict(
    directory: Path,
    *,
    verdict: str = "promote",
    stack: str = "staging",
    endpoint: str = "fraud",
    version: int | None = 13,
    ended_hours_ago: float = 1.0,
) -> Path:
    """A `modelplane compare --json` file, with the fields the gate reads."""
    end = datetime.now(UTC) - timedelta(hours=ended_hours_ago)
    document = {
        "tool": "modelplane compare",
        "stack": stack,
        "endpoint": endpoint,
        "verdict": verdict,
        "baseline": {"variant": "champion", "model_package_version": 11},
        "candidate": {"variant": "challenger", "model_package_version": version},
        "window": {"start": iso(end - timedelta(hours=2)), "end": iso(end)},
    }
    path = directory / "compare.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


PIN_CHAMPION_13 = ("--stack", "staging", "--endpoint", "fraud", "--variant", "champion", "--version", "13")


def test_a_recent_promote_verdict_for_the_version_lets_it_through(stacks: Path, sagemaker: Any, tmp_path: Path) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 13)
    verdict = write_verdict(tmp_path)

    assert promote(*PIN_CHAMPION_13, "--require-verdict", str(verdict)) == EXIT_OK

    fraud = load_stack_file(stacks / "Pulumi.staging.yaml").endpoints[0]
    assert [(v.name, v.model_package_version) for v in fraud.variants] == [("champion", 13), ("challenger", 12)]


@pytest.mark.parametrize(
    ("verdict", "extra", "message"),
    [
        ({"verdict": "rollback"}, [], "the verdict is rollback, not promote"),
        ({"verdict": "inconclusive"}, [], "the verdict is inconclusive, not promote"),
        ({"endpoint": "churn"}, [], "the verdict is for endpoint churn, not fraud"),
        ({"stack": "dev"}, [], "the verdict is for stack dev; the versions come from staging"),
        ({"version": 12}, [], "the verdict judged challenger (version 12), not version 13 for fraud/champion"),
        ({"version": None}, [], "the verdict judged challenger (a model outside the registry), not version 13"),
        ({"ended_hours_ago": 30}, [], "the compared window ended 30.0 hours ago, more than --verdict-max-age 24"),
        ({"ended_hours_ago": 7}, ["--verdict-max-age", "6"], "more than --verdict-max-age 6; run `modelplane compare`"),
        ({"ended_hours_ago": -1}, [], "the compared window ends in the future"),
    ],
)
def test_the_gate_refuses_with_exit_1_and_writes_nothing(
    stacks: Path,
    sagemaker: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    verdict: dict[str, Any],
    extra: list[str],
    message: str,
) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 13)
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_bytes()

    exit_code = promote(*PIN_CHAMPION_13, "--require-verdict", str(write_verdict(tmp_path, **verdict)), *extra)

    assert exit_code == EXIT_FAILED
    assert message in capsys.readouterr().err
    assert path.read_bytes() == before


def test_an_older_verdict_passes_with_a_longer_max_age(stacks: Path, sagemaker: Any, tmp_path: Path) -> None:
    register_versions(sagemaker, "fraud-detector-staging", 13)
    verdict = write_verdict(tmp_path, ended_hours_ago=30)

    assert promote(*PIN_CHAMPION_13, "--require-verdict", str(verdict), "--verdict-max-age", "48") == EXIT_OK


def test_from_to_takes_the_verdict_of_the_source_stack(stacks: Path, sagemaker: Any, tmp_path: Path) -> None:
    staging_champion_at_15(stacks)
    register_versions(sagemaker, "fraud-detector-staging", 15, artifacts={15: "fraud 2026-11"})
    register_versions(sagemaker, "fraud-detector-prod", 15, artifacts={15: "fraud 2026-11"})

    assert (
        promote(
            "--from",
            "staging",
            "--to",
            "prod",
            "--endpoint",
            "fraud",
            "--require-verdict",
            str(write_verdict(tmp_path, version=15)),
        )
        == EXIT_OK
    )
    assert load_stack_file(stacks / "Pulumi.prod.yaml").endpoints[0].variants[0].model_package_version == 15


@pytest.mark.usefixtures("stacks", "sagemaker")
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "compare.json: no such file"),
        ("{}", "compare.json: not a `modelplane compare --json` file: tool: field required"),
        (
            '{"tool": "modelplane verify", "stack": "s", "endpoint": "e", "verdict": "promote",'
            ' "candidate": {"variant": "v", "model_package_version": 1},'
            ' "window": {"start": "2025-05-01T10:00:00Z", "end": "2025-05-01T12:00:00Z"}}',
            "written by 'modelplane verify'",
        ),
        (
            '{"tool": "modelplane compare", "stack": "s", "endpoint": "e", "verdict": "promote",'
            ' "candidate": {"variant": "v", "model_package_version": 1},'
            ' "window": {"start": "2025-05-01T10:00:00", "end": "2025-05-01T12:00:00"}}',
            "window.start: input should have timezone info",
        ),
    ],
)
def test_an_unreadable_verdict_file_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "compare.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    assert promote(*PIN_CHAMPION_13, "--require-verdict", str(path)) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_a_kubernetes_variant_is_promoted_and_copied_like_a_sagemaker_one(
    stacks: Path, sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Staging's recommender moves to version 4 (approved on the way), then prod gets the same artifact."""
    register_versions(sagemaker, "recommender-staging", 4, {4: "PendingManualApproval"}, artifacts={4: "two-tower 7"})
    register_versions(sagemaker, "recommender-prod", 4, artifacts={4: "two-tower 7"})
    staging, prod = stacks / "Pulumi.staging.yaml", stacks / "Pulumi.prod.yaml"
    before = prod.read_bytes()

    pin = ["--stack", "staging", "--endpoint", "recommender", "--variant", "two-tower-v6", "--version", "4"]
    assert promote(*pin, "--approve") == EXIT_OK
    assert approval(sagemaker, "recommender-staging", 4) == "Approved"
    assert load_stack_file(staging).endpoints[2].variants[0].model_package_version == 4
    capsys.readouterr()

    assert promote("--from", "staging", "--to", "prod", "--endpoint", "recommender") == EXIT_OK
    assert changed_lines(before, prod.read_bytes()) == [
        (b"          model_package_version: 3\n", b"          model_package_version: 4\n")
    ]
    out = capsys.readouterr().out
    assert "recommender-prod version 4: the same image and model archive as recommender-staging version 4\n" in out
