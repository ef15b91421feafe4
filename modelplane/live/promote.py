"""Pin an approved model package version in a stack file, as a reviewable change (`modelplane promote`).

Both platforms pin versions of the same registry: a SageMaker variant creates its model from the version,
a Kubernetes variant runs the version's image and fetches its archive (the component resolves it).

Promotion is a commit, not a deployment: the tool confirms in the model registry (the stack's model
package group of the endpoint's family) that the version exists and is approved, rewrites only the
`model_package_version` value in the stack file, keeps every other byte, and prints the diff.
`pulumi up` deploys it once the change is reviewed.

With `--require-verdict compare.json` it also refuses unless `modelplane compare` said *promote* for
this endpoint, for the version being pinned (the candidate's), in the stack the version comes from,
over a window that ended recently.

With `--from/--to` it copies version numbers, which are per model package group, so it also refuses
a target version that is not the artifact the source version is: the image digest and archive sha256
`modelplane register` records on each version must be the same in both groups.

Every pinned version is confirmed, whether or not the file changes: a promotion that finds the file
already pinning the version still refuses a version the registry lacks, has not approved or rejected,
and still approves it with `--approve`. A refusal is `CheckFailed` (exit 1); bad usage, an unreadable
verdict file or an AWS error stop the command (exit 2).
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from modelplane_components import naming
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from modelplane.abtest.verdict_file import VerdictFile
from modelplane.aws import Aws, error_text
from modelplane.config import stackfiles
from modelplane.config.loader import SettingsError, load_stack_file
from modelplane.config.stackfiles import shown
from modelplane.errors import BadInput, CheckFailed
from modelplane.live.register import IMAGE_DIGEST_KEY, MODEL_SHA256_KEY
from modelplane.settings import Endpoint, Settings, Variant

APPROVED = "Approved"
DEFAULT_VERDICT_MAX_AGE_HOURS = 24.0
# Clock skew tolerated between the machine that compared and this one.
CLOCK_SKEW_HOURS = 5 / 60
REJECTED = "Rejected"
VERSION_KEY = "model_package_version"


@dataclass(frozen=True)
class Change:
    """One variant's pinned version, before and after."""

    endpoint: str
    variant: str
    family: str
    old: int
    new: int


def load(stack: str) -> tuple[Path, Settings]:
    path = stackfiles.stack_file(stack)
    return path, load_stack_file(path, stack)


def _endpoint(settings: Settings, path: Path, name: str) -> Endpoint:
    """The endpoint, on either platform: a Kubernetes variant pins versions of the same registry."""
    return stackfiles.endpoint_named(settings, path, name)


def _variant(endpoint: Endpoint, path: Path, name: str) -> Variant:
    variant = next((v for v in endpoint.all_variants if v.name == name), None)
    if variant is None:
        known = ", ".join(v.name for v in endpoint.all_variants)
        raise BadInput(f"{shown(path)}: endpoint {endpoint.name!r} has no variant {name!r} (variants: {known})")
    return variant


def _pinned_version(path: Path, endpoint: Endpoint, variant: Variant) -> int:
    if variant.model_package_version is None:
        raise BadInput(
            f"{shown(path)}: {endpoint.name}/{variant.name} is not pinned to the registry;"
            f" add `{VERSION_KEY}:` to it by hand first"
        )
    return variant.model_package_version


@dataclass(frozen=True)
class Request:
    """What the arguments ask: the stack whose file to edit, its settings and the changes; the stack the
    versions come from (itself, or `--from`'s, with its settings)."""

    stack: str
    path: Path
    settings: Settings
    changes: list[Change]
    source: str
    source_settings: Settings | None = None


def single_change(stack: str, endpoint_name: str, variant_name: str, version: int) -> Request:
    path, settings = load(stack)
    endpoint = _endpoint(settings, path, endpoint_name)
    variant = _variant(endpoint, path, variant_name)
    old = _pinned_version(path, endpoint, variant)
    return Request(stack, path, settings, [Change(endpoint.name, variant.name, endpoint.family, old, version)], stack)


def copied_changes(source: str, target: str, only_endpoint: str | None) -> Request:
    """The versions `source` pins for the endpoints and variants `target` also pins to the same family's registry."""
    if source == target:
        raise BadInput("--from and --to name the same stack")
    source_path, source_settings = load(source)
    target_path, target_settings = load(target)
    if only_endpoint is not None:
        _endpoint(source_settings, source_path, only_endpoint)
        _endpoint(target_settings, target_path, only_endpoint)
    source_pins = {
        (endpoint.name, endpoint.family, variant.name): variant.model_package_version
        for endpoint in source_settings.endpoints
        for variant in endpoint.all_variants
        if variant.model_package_version is not None
    }
    changes = [
        Change(endpoint.name, variant.name, endpoint.family, variant.model_package_version, new)
        for endpoint in target_settings.endpoints
        if only_endpoint in (None, endpoint.name)
        for variant in endpoint.all_variants
        if variant.model_package_version is not None
        and (new := source_pins.get((endpoint.name, endpoint.family, variant.name))) is not None
    ]
    if not changes:
        raise BadInput(
            f"no variant pinned to the registry in {shown(source_path)} has a pinned counterpart in {shown(target_path)}"
        )
    return Request(target, target_path, target_settings, changes, source, source_settings)


class ModelRegistry:
    """The model package groups of one stack, read (and, when asked, approved) through boto3."""

    def __init__(self, aws: Aws, stack: str) -> None:
        self.aws = aws
        self.stack = stack
        self.sagemaker = aws.client("sagemaker")
        self._account: str | None = None

    def package_arn(self, family: str, version: int) -> str:
        if self._account is None:
            self._account = str(self.aws.client("sts").get_caller_identity()["Account"])
        partition = self.aws.session.get_partition_for_region(self.aws.region)
        group = naming.family_resource_name(family, self.stack)
        return f"arn:{partition}:sagemaker:{self.aws.region}:{self._account}:model-package/{group}/{version}"

    def confirm_approved(self, family: str, version: int, *, approve: bool) -> str:
        """What was found (or done); raises `CheckFailed` (exit 1) when the version cannot be promoted."""
        what = f"{naming.family_resource_name(family, self.stack)} version {version}"
        arn = self.package_arn(family, version)
        described = self._described(arn, what)
        status = described["ModelApprovalStatus"]
        if status == APPROVED:
            return f"{what}: {APPROVED}"
        if status == REJECTED:
            raise CheckFailed(f"{what} was {REJECTED}; promote another version")
        if not approve:
            raise CheckFailed(f"{what} is {status}; approve it in the registry, or pass --approve")
        recorded = described.get("CustomerMetadataProperties")
        self.sagemaker.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus=APPROVED,
            ApprovalDescription=f"Approved by `modelplane promote` for stack {self.stack}",
            # Restated, so that the artifact identity `register` recorded survives the approval in any
            # implementation of the API (moto's update replaces what it is not given).
            **({"CustomerMetadataProperties": recorded} if recorded else {}),
        )
        return f"{what}: {status} -> {APPROVED} (--approve)"

    def _described(self, arn: str, what: str) -> dict[str, Any]:
        """`DescribeModelPackage`; a version the group does not hold is a refusal, any other error the command's."""
        try:
            return self.sagemaker.describe_model_package(ModelPackageName=arn)
        except ClientError as error:
            details = error.response.get("Error", {})
            message = str(details.get("Message", "")).lower()
            if details.get("Code") == "ValidationException" and ("not found" in message or "does not exist" in message):
                raise CheckFailed(f"{what} is not in the registry ({error_text(error)})") from None
            raise

    def artifact(self, family: str, version: int) -> tuple[str, str] | None:
        """The image digest and archive sha256 `modelplane register` recorded on the version (None: none)."""
        what = f"{naming.family_resource_name(family, self.stack)} version {version}"
        described = self._described(self.package_arn(family, version), what)
        recorded = described.get("CustomerMetadataProperties", {})
        if IMAGE_DIGEST_KEY not in recorded or MODEL_SHA256_KEY not in recorded:
            return None
        return recorded[IMAGE_DIGEST_KEY], recorded[MODEL_SHA256_KEY]


def same_artifact(source: ModelRegistry, target: ModelRegistry, change: Change) -> str:
    """A note that `target`'s version is `source`'s artifact; `CheckFailed` (exit 1) when it is another."""
    theirs, ours = (
        f"{naming.family_resource_name(change.family, registry.stack)} version {change.new}"
        for registry in (source, target)
    )
    copied, pinned = source.artifact(change.family, change.new), target.artifact(change.family, change.new)
    if copied is None or pinned is None:
        return (
            f"{ours}: no image digest and archive sha256 recorded in both groups (not `modelplane register`ed);"
            f" check by hand that it is {theirs}"
        )
    if copied != pinned:
        digest, sha256 = copied
        raise CheckFailed(
            f"{ours} is not the artifact {theirs} is (image {digest}, model archive sha256 {sha256});"
            f" register that artifact with `modelplane register --stack {target.stack}` and pin the version it prints"
        )
    return f"{ours}: the same image and model archive as {theirs}"


def require_verdict(
    verdict: VerdictFile, path: Path, source_stack: str, changes: list[Change], *, max_age_hours: float, now: datetime
) -> None:
    """Refuse (exit 1) unless the compare verdict vouches for every version this promotion moves."""
    where = f"{path}: "
    if verdict.verdict != "promote":
        raise CheckFailed(f"{where}the verdict is {verdict.verdict}, not promote")
    if verdict.stack != source_stack:
        raise CheckFailed(f"{where}the verdict is for stack {verdict.stack}; the versions come from {source_stack}")
    age = verdict.age_hours(now)
    if age > max_age_hours:
        raise CheckFailed(
            f"{where}the compared window ended {age:.1f} hours ago, more than --verdict-max-age {max_age_hours:g};"
            " run `modelplane compare` again"
        )
    if age < -CLOCK_SKEW_HOURS:
        raise CheckFailed(f"{where}the compared window ends in the future ({verdict.window.end})")
    candidate = verdict.candidate
    for change in changes:
        if change.old == change.new:
            continue
        if change.endpoint != verdict.endpoint:
            raise CheckFailed(f"{where}the verdict is for endpoint {verdict.endpoint}, not {change.endpoint}")
        if candidate.model_package_version != change.new:
            judged = (
                f"version {candidate.model_package_version}"
                if candidate.model_package_version is not None
                else "a model outside the registry"
            )
            raise CheckFailed(
                f"{where}the verdict judged {candidate.variant} ({judged}), not version {change.new}"
                f" for {change.endpoint}/{change.variant}"
            )


def _by_key(node: Node | None) -> dict[str, Node]:
    if not isinstance(node, MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, ScalarNode)}


def version_spans(text: str) -> dict[tuple[str, str], tuple[int, int]]:
    """Where each `(endpoint, variant)`'s version scalar sits in the stack file text (start, end offsets)."""
    endpoints = _by_key(_by_key(YAML().compose(text)).get("config")).get("modelplane:endpoints")
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for endpoint in endpoints.value if isinstance(endpoints, SequenceNode) else []:
        fields = _by_key(endpoint)
        variants = fields.get("variants")
        nodes = [*(variants.value if isinstance(variants, SequenceNode) else []), fields.get("shadow")]
        for variant in map(_by_key, nodes):
            name, version = variant.get("name"), variant.get(VERSION_KEY)
            if isinstance(version, ScalarNode) and isinstance(name, ScalarNode):
                spans[(fields["name"].value, name.value)] = (version.start_mark.index, version.end_mark.index)
    return spans


def rewrite(text: str, changes: list[Change]) -> str:
    """The text with each changed version replaced in place; nothing else moves."""
    spans = version_spans(text)
    # A set: two variants sharing one node (a YAML anchor) must not splice the same span twice.
    edits = sorted({(*spans[(c.endpoint, c.variant)], str(c.new)) for c in changes if c.old != c.new}, reverse=True)
    for start, end, replacement in edits:
        text = text[:start] + replacement + text[end:]
    return text


def expected_settings(settings: Settings, changes: list[Change]) -> dict[str, Any]:
    """The settings as they must read after the edit: the old ones with only the new versions."""
    data = settings.model_dump(mode="json")
    new_versions = {(change.endpoint, change.variant): change.new for change in changes}
    for endpoint in data["endpoints"]:
        for variant in [*endpoint["variants"], *([endpoint["shadow"]] if endpoint["shadow"] else [])]:
            variant[VERSION_KEY] = new_versions.get((endpoint["name"], variant["name"]), variant[VERSION_KEY])
    return data


def write_checked(path: Path, stack: str, text: str, expected: dict[str, Any]) -> None:
    """Write through a temp file in the same directory, renamed over the original only once its settings
    read back as `expected`: a reader sees the old file or the new one, never a partial or wrong one."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temp = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copymode(path, temp)
        try:
            written: dict[str, Any] | None = load_stack_file(temp, stack).model_dump(mode="json")
        except SettingsError:
            written = None
        if written != expected:
            raise BadInput(
                f"{shown(path)}: the edit would change more than the version (a YAML anchor?); edit it by hand"
            )
        temp.replace(path)  # os.replace: atomic on POSIX
    finally:
        temp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Promotion:
    registry_notes: list[str]
    """What the registry said about (or was done to) each new version."""
    diff: str
    """Unified diff of the stack file; empty when it already pinned these versions."""


def promote(
    path: Path,
    settings: Settings,
    stack: str,
    changes: list[Change],
    registry: ModelRegistry,
    *,
    approve: bool,
    copied_from: ModelRegistry | None = None,
) -> Promotion:
    """Confirm every version in the registry, changed or already pinned (and, copied from another stack's
    registry, that it is the same artifact there), then edit the file when it changes."""
    original = path.read_bytes().decode("utf-8")
    edited = rewrite(original, changes)
    notes = []
    for change in changes:
        notes.append(registry.confirm_approved(change.family, change.new, approve=approve))
        if copied_from is not None:
            notes.append(same_artifact(copied_from, registry, change))
    if edited == original:
        return Promotion(notes, "")
    write_checked(path, stack, edited, expected_settings(settings, changes))
    label = shown(path)
    # git's a/ and b/ prefixes for a path in the project, so the diff applies with `git apply`.
    before, after = (str(label), str(label)) if label.is_absolute() else (f"a/{label}", f"b/{label}")
    diff = difflib.unified_diff(original.splitlines(keepends=True), edited.splitlines(keepends=True), before, after)
    return Promotion(notes, "".join(diff))


def requested_changes(args: argparse.Namespace) -> Request:
    """What the arguments ask for."""
    if args.stack is not None:
        required = {"--endpoint": args.endpoint, "--variant": args.variant, "--version": args.version}
        if missing := [flag for flag, value in required.items() if value is None]:
            raise BadInput(f"--stack needs {', '.join(missing)}")
        if args.target is not None:
            raise BadInput("--to goes with --from, not --stack")
        return single_change(args.stack, args.endpoint, args.variant, args.version)
    if args.target is None or args.variant is not None or args.version is not None:
        raise BadInput("--from needs --to, and takes no --variant or --version")
    return copied_changes(args.source, args.target, args.endpoint)
