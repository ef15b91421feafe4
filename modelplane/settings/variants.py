"""A variant: one model version serving traffic, or a shadow copy of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from modelplane_components.sagemaker_endpoint_args import IMAGE_DIGEST_PATTERN, IMAGE_TAG_PATTERN
from pydantic import Field, model_validator

from modelplane.settings.base import FieldProblems, Name, SettingsModel

if TYPE_CHECKING:
    from modelplane_components.kubernetes_service_args import KubernetesVariantArgs
    from modelplane_components.sagemaker_endpoint_args import VariantArgs


class Serverless(SettingsModel):
    """Serverless inference instead of instances."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144]
    """Memory per concurrent invocation."""
    max_concurrency: int = Field(ge=1, le=200)
    """Maximum concurrent invocations."""
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)
    """Warm capacity that avoids cold starts; must not exceed max_concurrency."""


class Variant(SettingsModel):
    """One model version serving traffic (or a copy of it, for the shadow)."""

    name: Name
    """Variant name; keep it stable across versions so blue/green updates apply."""
    image_tag: str | None = Field(default=None, pattern=f"^{IMAGE_TAG_PATTERN}$")
    """Immutable tag of the image in the family's repository."""
    image_digest: str | None = Field(default=None, pattern=f"^{IMAGE_DIGEST_PATTERN}$")
    """Digest of the image in the family's repository (preferred: pins exact bytes)."""
    model_artifact: str | None = Field(default=None, pattern=r"^[A-Za-z0-9!_.*'()/-]+\.tar\.gz$")
    """Key of the model.tar.gz in the stack's artifact bucket."""
    model_package_version: int | None = Field(default=None, ge=1)
    """Version in the family's model package group (the registry), instead of an artifact: the variant serves the
    image and archive the version records, and its `image_tag`/`image_digest` is not used. On SageMaker the model
    is the package itself. On Kubernetes the pods run the version's image by digest; before the server starts,
    the `fetch-model` init container (the same image, as the pod's IRSA role, which may read only the pinned
    versions' archives) downloads the archive, checks the sha256 `modelplane register` recorded, and unpacks it
    into a volume the server mounts read-only at `/opt/ml/model`; a missing or altered archive fails the pod. The
    pod template carries the version (label `modelplane.io/model-package-version`), so a new version rolls the
    Deployment and `modelplane verify` can read it back. `promote` and `register` treat both platforms alike."""
    instance_type: str | None = None
    """SageMaker instance type (`ml.*`, one of botocore's `ProductionVariantInstanceType`); set it or `serverless` (SageMaker only)."""
    instance_count: int = Field(default=1, ge=1, le=100)
    """SageMaker instances, or pod replicas on Kubernetes."""
    serverless: Serverless | None = None
    """Serverless inference instead of instances (SageMaker only)."""
    weight: float = Field(default=1.0, gt=0, le=1000)
    """Relative share of traffic (A/B testing); ignored for the shadow."""
    environment: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")], Annotated[str, Field(max_length=1024)]
    ] = {}
    """Container environment variables; never secret values (use `secrets`)."""

    @model_validator(mode="after")
    def _pinned_image(self) -> Variant:
        """Checked here for every platform; the components check the rest of a variant."""
        if self.image_tag == "latest":
            raise FieldProblems([("image_tag", "'latest' is mutable; pin an immutable tag or a digest")])
        return self

    def sagemaker_args(self) -> VariantArgs:
        """The variant as the SageMaker endpoint component takes it."""
        return cast("VariantArgs", self.model_dump(exclude_none=True))

    def kubernetes_args(self) -> KubernetesVariantArgs:
        """The variant as the Kubernetes component takes it: replicas and a whole-number route weight."""
        args: dict[str, Any] = {
            "name": self.name,
            "replicas": self.instance_count,
            "weight": int(self.weight),
            "environment": dict(self.environment),
        }
        for field in ("image_tag", "image_digest", "model_package_version"):
            if (value := getattr(self, field)) is not None:
                args[field] = value
        return cast("KubernetesVariantArgs", args)
