"""The custom CloudWatch metrics `modelplane drift --publish` writes and the stack's drift alarm reads."""

from __future__ import annotations

DRIFT_NAMESPACE = "modelplane/DataDrift"
# Per endpoint (dimension EndpointName): how many features drifted in the judged window, and how
# many captured requests the window held.
DRIFTED_FEATURES = "DriftedFeatures"
CAPTURED_RECORDS = "CapturedRecords"
# Per feature (dimensions EndpointName, Feature): the population stability index, and 1 or 0.
FEATURE_PSI = "PopulationStabilityIndex"
FEATURE_DRIFTED = "FeatureDrifted"
ENDPOINT_DIMENSION = "EndpointName"
FEATURE_DIMENSION = "Feature"
