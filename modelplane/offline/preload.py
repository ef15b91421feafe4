"""What a simulation of this environment's program imports: the simulations' fork server imports this once.

Most of a simulation's time is the import of the SDK modules its resources come from, and the components
load those lazily (`aws.s3.BucketV2` runs `pulumi_aws.s3` on first use), so importing the components is
not enough: `SDK_MODULES` names the SDK packages the shipped stacks use. A package missing here is only
imported by each simulation that needs it (slower, never wrong); `tests/offline/test_simulation.py` checks
that a simulation of each shipped stack imports none the fork server has not.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil

SDK_MODULES = (
    "parver",
    "pulumi_aws.appautoscaling",
    "pulumi_aws.athena",
    "pulumi_aws.cloudcontrol",
    "pulumi_aws.ecr",
    "pulumi_aws.glue",
    "pulumi_aws.iam",
    "pulumi_aws.kms",
    "pulumi_aws.s3",
    "pulumi_aws.secretsmanager",
    "pulumi_aws.sns",
    "pulumi_kubernetes.apiextensions",
    "pulumi_kubernetes.apiextensions.v1",
    "pulumi_kubernetes.apiextensions.v1beta1",
    "pulumi_kubernetes.apps.v1",
    "pulumi_kubernetes.autoscaling.v2",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.meta.v1",
    "pulumi_kubernetes.networking.v1",
    "pulumi_kubernetes.networking.v1alpha1",
    "pulumi_kubernetes.networking.v1beta1",
    "pulumi_kubernetes.policy.v1",
    "pulumi_kubernetes.policy.v1beta1",
    "pulumi_kubernetes.provider",
)


def _import_everything() -> None:
    import modelplane_components

    import modelplane.offline.mocks
    import modelplane.program.build  # noqa: F401

    for component in pkgutil.iter_modules(modelplane_components.__path__):
        if component.name != "__main__":
            importlib.import_module(f"{modelplane_components.__name__}.{component.name}")
    for module in SDK_MODULES:
        # The SDKs import their packages lazily: a package's code runs on the first look up of a name in it.
        getattr(importlib.import_module(module), "__all__", None)


# While these modules load, the collector would run hundreds of times, each time traversing all that is
# loaded so far, for nothing to free: a quarter of the preload's CPU. What they build lives as long as the
# server; frozen, no later collection traverses it, in the server or in a fork (where the collector's writes
# would copy the pages it is on).
_collecting = gc.isenabled()
gc.disable()
try:
    _import_everything()
finally:
    gc.freeze()
    if _collecting:
        gc.enable()
