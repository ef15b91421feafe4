"""The first deploy of a stack with endpoints: the registry first, then an image and a version in it, then the rest.

One `pulumi up` creates the registry (the ECR repositories, the model package groups, the artifact
bucket and the key they use) and the endpoints that pull an image from those repositories and a model
version from those groups. On a new stack neither exists yet, so the endpoints fail to create after
the rest was already changed. The way through is a targeted update of the registry and what it needs,
then `modelplane register`, then the full update. Pulumi's `--target` patterns match only resources
already in the stack's state, so on a first deploy every target is an explicit URN.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelplane.offline.graph import RecordedResource, Simulation

REGISTRY = "modelplane:index:ModelRegistry"
# What pulls an image and a model version from the registry.
SERVING = ("modelplane:index:SageMakerEndpoint", "modelplane:index:KubernetesModelService")


@dataclass(frozen=True)
class FirstDeploy:
    """What a new stack must create before its endpoints can be created, and the commands in order."""

    stack: str
    environment: str
    targets: tuple[str, ...]
    """URNs of the registry and everything it needs (parents, dependencies, providers), in registration order."""
    families: tuple[str, ...]

    def up_command(self) -> str:
        """The targeted `pulumi up` of the registry phase, with the policy pack as every `up` runs it."""
        config = "dev" if self.environment == "local" else self.environment
        lines = [
            f"pulumi up --stack {self.stack} --policy-pack policies --policy-pack-config policies/config/{config}.json",
            *(f"  --target '{urn}'" for urn in self.targets),
        ]
        return " \\\n".join(lines)

    def steps(self) -> list[str]:
        family = self.families[0] if self.families else "<family>"
        return [
            f"1. Deploy the registry phase only ({len(self.targets)} resources):\n{self.up_command()}",
            "2. Build, test and push the serving image, then register a model version: "
            f"`modelplane register --stack {self.stack} --family {family} --image <repository>@sha256:<digest> "
            "--model-data model.tar.gz`",
            f"3. Pin that version in the stack file (`modelplane promote --stack {self.stack} ... --approve`), "
            f"then run the full `pulumi up --stack {self.stack}` with the policy pack",
            f"4. `modelplane verify --stack {self.stack}` proves that what runs is what the stack declares",
        ]


def first_deploy(simulation: Simulation) -> FirstDeploy | None:
    """The registry phase of a stack whose endpoints need its registry; None when it has no registry or no endpoint."""
    registries = simulation.of_type(REGISTRY)
    if not registries or not any(simulation.of_type(token) for token in SERVING):
        return None
    by_urn = {resource.urn: resource for resource in simulation.resources}
    wanted: set[str] = set()
    pending = [registry.urn for registry in registries]
    while pending:
        urn = pending.pop()
        resource = by_urn.get(urn)
        if resource is None or urn in wanted:
            continue
        wanted.add(urn)
        pending += _needs(resource, simulation)
    families = tuple(
        sorted(
            resource.name.removeprefix(f"{registry.name}-")
            for registry in registries
            for resource in simulation.children(registry)
            if resource.type == "modelplane:index:ModelPackageGroup"
        )
    )
    targets = tuple(resource.urn for resource in simulation.resources if resource.urn in wanted)
    return FirstDeploy(simulation.stack, simulation.environment, targets, families)


def _needs(resource: RecordedResource, simulation: Simulation) -> list[str]:
    """What the engine must create with `resource`: its parent, dependencies and provider, and for a
    component its children (a component's output stands for everything beneath it)."""
    needed = [resource.parent, *resource.dependencies]
    needed += [urn for urns in resource.property_dependencies.values() for urn in urns]
    needed += [reference.rpartition("::")[0] for reference in (resource.provider, *resource.providers.values())]
    if not resource.custom:
        needed += [child.urn for child in simulation.children(resource)]
    return needed
