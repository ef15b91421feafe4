"""Every component, served to TypeScript, Go, C#, Java and YAML programs by Pulumi's component provider host.

`pulumi package add <this folder>` (or `pulumi package get-schema`) runs `__main__.py`, which serves
these components; the schema is inferred from their type annotations and docstrings
(`pulumi.provider.experimental`), and `make generate` keeps a copy in `schema.json`.
"""

from importlib.metadata import version

from pulumi.provider.experimental import component_provider_host

from ._common import PACKAGE
from .alert_topic import AlertTopic
from .artifact_bucket import ArtifactBucket
from .container_repository import ContainerRepository
from .encryption_key import EncryptionKey
from .kubernetes_service import KubernetesModelService
from .model_package_group import ModelPackageGroup
from .model_secrets import ModelSecrets
from .monitoring import EndpointMonitoring
from .registry import ModelRegistry
from .sagemaker_endpoint import SageMakerEndpoint
from .secret_read_policy import SecretReadPolicy

COMPONENTS = [
    AlertTopic,
    ArtifactBucket,
    ContainerRepository,
    EncryptionKey,
    EndpointMonitoring,
    KubernetesModelService,
    ModelPackageGroup,
    ModelRegistry,
    ModelSecrets,
    SageMakerEndpoint,
    SecretReadPolicy,
]
DISTRIBUTION = "modelplane"


def package_version() -> str:
    return version(DISTRIBUTION)


def serve() -> None:
    """Host the components as the `modelplane` provider (blocks until the engine shuts it down)."""
    component_provider_host(COMPONENTS, name=PACKAGE, version=package_version())
