"""Every component, served to TypeScript, Go, C#, Java and YAML programs by Pulumi's component provider.

`pulumi package add <this folder>` (or `pulumi package get-schema`) runs `__main__.py`, which serves
these components; the schema is inferred from their type annotations and docstrings
(`pulumi.provider.experimental`), and `make generate` keeps a copy in `schema.json`.
"""

import sys
from importlib.metadata import version

from pulumi import Inputs
from pulumi.provider import main
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider

from ._common import PACKAGE
from .alert_topic import AlertTopic
from .artifact_bucket import ArtifactBucket
from .capture_queries import CaptureQueries
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
    CaptureQueries,
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
DISTRIBUTION = "modelplane-components"


def package_version() -> str:
    return version(DISTRIBUTION)


class WholeNumberComponentProvider(ComponentProvider):
    """Pulumi's component provider, passing the whole numbers of integer inputs on as `int`.

    Every number arrives as a float; pulumi's `map_input_properties` converts integer properties and then
    stores the float again, so a YAML `modelPackageVersion: 3` would reach the endpoint as `3.0` (ARN
    `.../3.0`) and a route `weight: 3` would be refused as no whole number. A fraction stays a float,
    for the component's own checks to refuse.
    """

    def map_input_properties(
        self,
        inputs: Inputs,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Inputs:
        mapped = super().map_input_properties(inputs, properties, mapping, component_name, property_path)
        integers = {mapping[name] for name, prop in properties.items() if prop.type is PropertyType.INTEGER}
        return {
            key: int(value) if key in integers and isinstance(value, float) and value.is_integer() else value
            for key, value in mapped.items()
        }


def component_provider() -> ComponentProvider:
    """The provider `serve` runs: every component, with the schema inferred from them."""
    return WholeNumberComponentProvider(COMPONENTS, PACKAGE, None, package_version())


def serve() -> None:
    """Host the components as the `modelplane` provider (blocks until the engine shuts it down)."""
    main(component_provider(), sys.argv[1:])
