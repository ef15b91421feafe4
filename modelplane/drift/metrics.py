"""The custom CloudWatch metrics `modelplane drift --publish` writes and the stack's drift alarm reads.

The per-endpoint count the alarm reads is named by the components (`modelplane_components.naming`).
"""

from __future__ import annotations

from modelplane_components.naming import DRIFT_NAMESPACE, DRIFTED_FEATURES, ENDPOINT_DIMENSION

__all__ = [
    "CAPTURED_RECORDS",
    "DRIFTED_FEATURES",
    "DRIFT_NAMESPACE",
    "ENDPOINT_DIMENSION",
    "FEATURE_DIMENSION",
    "FEATURE_DRIFTED",
    "FEATURE_PSI",
]

# Per endpoint (dimension EndpointName), besides DRIFTED_FEATURES: how many captured requests the window held.
CAPTURED_RECORDS = "CapturedRecords"
# Per feature (dimensions EndpointName, Feature): the population stability index, and 1 or 0.
FEATURE_PSI = "PopulationStabilityIndex"
FEATURE_DRIFTED = "FeatureDrifted"
FEATURE_DIMENSION = "Feature"
