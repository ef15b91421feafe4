"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine> .`): serve the pack over gRPC.

`PolicyPack(...)` starts the analyzer server and never returns, so nothing else lives here; the
rules are in `modelplane_guard/`, where tests import them.
"""

from modelplane_guard import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    "modelplane-guard",
    policies=POLICIES,
    enforcement_level=EnforcementLevel.ADVISORY,
    description="Security and reliability guardrails for ML deployments on SageMaker and Kubernetes.",
)
