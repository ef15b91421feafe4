"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine> .`): serve the pack over gRPC.

`serve` starts the analyzer server and never returns, so nothing else lives here; the rules are in
`modelplane_guard/`, where tests import them. It takes the place of the SDK's `PolicyPack(...)`,
with a servicer that decodes each request once and applies waivers (`modelplane_guard/server.py`).
"""

from modelplane_guard import POLICIES
from modelplane_guard.server import serve
from pulumi_policy import EnforcementLevel

serve(
    "modelplane-guard",
    POLICIES,
    EnforcementLevel.ADVISORY,
    description="Security and reliability guardrails for ML deployments on SageMaker and Kubernetes.",
)
