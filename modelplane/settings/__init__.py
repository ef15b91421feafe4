"""The typed settings of a modelplane stack: the only way configuration enters the program.

Each top-level field of `Settings` is one Pulumi config key in the `modelplane` namespace
(`modelplane:endpoints`), except `region`, which is the AWS provider's own `aws:region`. The models
live in one module per concern; this package exports them all.
"""

from modelplane.settings.base import AccountId, Environment, FieldProblems, Name, Platform, SettingsModel, TagValue
from modelplane.settings.deployment import Autoscaling, Deployment, StepSize, Strategy
from modelplane.settings.drift import DataDrift
from modelplane.settings.endpoints import AsyncInference, Endpoint, SmokeTest
from modelplane.settings.experiments import Better, BusinessMetric, Experiment, MetricKind
from modelplane.settings.kubernetes import (
    SERVICE_NAME_PATTERN,
    DnsLabel,
    GatewayRoute,
    KubernetesCluster,
    KubernetesServing,
    Resources,
    Toleration,
)
from modelplane.settings.monitoring import (
    LOG_RETENTION_DAYS,
    AlarmThresholds,
    AnomalyDetection,
    DataCapture,
    Monitoring,
)
from modelplane.settings.network import Network
from modelplane.settings.registry import ImageRetention, ModelFamily, Registry
from modelplane.settings.secrets import MAX_PROD_ROTATION_DAYS, Rotation, SecretSpec
from modelplane.settings.stack import LocalEmulator, Settings
from modelplane.settings.tags import Tags
from modelplane.settings.variants import Serverless, Variant

__all__ = [
    "LOG_RETENTION_DAYS",
    "MAX_PROD_ROTATION_DAYS",
    "SERVICE_NAME_PATTERN",
    "AccountId",
    "AlarmThresholds",
    "AnomalyDetection",
    "AsyncInference",
    "Autoscaling",
    "Better",
    "BusinessMetric",
    "DataCapture",
    "DataDrift",
    "Deployment",
    "DnsLabel",
    "Endpoint",
    "Environment",
    "Experiment",
    "FieldProblems",
    "GatewayRoute",
    "ImageRetention",
    "KubernetesCluster",
    "KubernetesServing",
    "LocalEmulator",
    "MetricKind",
    "ModelFamily",
    "Monitoring",
    "Name",
    "Network",
    "Platform",
    "Registry",
    "Resources",
    "Rotation",
    "SecretSpec",
    "Serverless",
    "Settings",
    "SettingsModel",
    "SmokeTest",
    "StepSize",
    "Strategy",
    "TagValue",
    "Tags",
    "Toleration",
    "Variant",
]
