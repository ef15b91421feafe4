"""Physical names that must be known before the resources exist.

Endpoint and alarms reference each other (the alarms watch the endpoint, the endpoint's automatic
rollback watches the alarms). Both names are therefore plain strings made here, not outputs, which
breaks the cycle: alarms are created first with the endpoint's future name as their dimension, and
the endpoint lists the alarms by name.
"""


def endpoint_name(endpoint: str, stack: str) -> str:
    """modelplane's deployed SageMaker endpoint name, `<endpoint>-<stack>`: stacks may share an account."""
    return f"{endpoint}-{stack}"


def model_resource_name(component: str, variant: str) -> str:
    """Logical name of a variant's SageMaker model in the endpoint component `component`; the engine
    auto-names the model from it (`autonaming`)."""
    return f"{component}-{variant}-model"


def endpoint_log_group(deployed_endpoint_name: str) -> str:
    """The log group SageMaker writes an endpoint's container logs to."""
    return f"/aws/sagemaker/Endpoints/{deployed_endpoint_name}"


def family_resource_name(family: str, stack: str) -> str:
    """Physical name of a family's repository and model package group, e.g. `fraud-detector-prod`.

    Stacks may share an account, so the stack is part of the name.
    """
    return f"{family}-{stack}"


def secret_arn_env_var(secret_name: str) -> str:
    """The environment variable carrying a secret's ARN to a container: `feature-store-token` -> `FEATURE_STORE_TOKEN_SECRET_ARN`."""
    return f"{secret_name.upper().replace('-', '_')}_SECRET_ARN"


# Customer metadata `modelplane register` records on a model package version, read back by `promote`'s
# artifact-identity check and by the Kubernetes component, which verifies a pinned version's archive.
IMAGE_DIGEST_METADATA = "modelplane:image-digest"
MODEL_SHA256_METADATA = "modelplane:model-data-sha256"


def data_capture_prefix(endpoint_name: str) -> str:
    """Where SageMaker (or, on Kubernetes, the serving runtime) writes an endpoint's captured requests and
    responses in the artifact bucket.

    `<endpoint-name>/<variant>/yyyy/mm/dd/hh/<file>.jsonl` is appended to the destination;
    `modelplane drift` reads them back from there.
    """
    return f"data-capture/{endpoint_name}/"


# The hour part of a capture key (`yyyy/mm/dd/hh`, UTC), for `strftime` and as Athena's projection format.
CAPTURE_HOUR_FORMAT = "%Y/%m/%d/%H"
CAPTURE_HOUR_PROJECTION_FORMAT = "yyyy/MM/dd/HH"
# How far back a capture table projects its `hour` partitions (Athena's syntax); older capture is not queried.
DEFAULT_PROJECTED_HOURS_RANGE = "NOW-1YEARS,NOW"


def _sql_name(text: str) -> str:
    """Athena's names for databases and tables: lower case letters, digits and underscores."""
    return text.lower().replace("-", "_")


def capture_database_name(stack: str) -> str:
    """The Glue database holding a stack's capture tables, e.g. `modelplane_prod`: stacks may share an account."""
    return _sql_name(f"modelplane_{stack}")


def capture_table_name(deployed_endpoint_name: str) -> str:
    """The Glue table over one endpoint's capture, e.g. `fraud_prod_capture`."""
    return _sql_name(f"{deployed_endpoint_name}_capture")


def drift_workgroup_name(stack: str) -> str:
    """The Athena workgroup `modelplane drift --engine athena` runs in, e.g. `modelplane-prod-drift`."""
    return f"modelplane-{stack}-drift"


# Where the drift workgroup's query results land in the artifact bucket.
QUERY_RESULTS_PREFIX = "athena-results/"


def async_output_prefix(endpoint_name: str) -> str:
    """Where SageMaker writes an asynchronous endpoint's results and failures."""
    return f"async-output/{endpoint_name}/"


def async_input_prefix(endpoint_name: str) -> str:
    """Where callers of an asynchronous endpoint upload request payloads; SageMaker reads them as the endpoint."""
    return f"async-input/{endpoint_name}/"


# The drift metric `modelplane drift --publish` writes per endpoint and the endpoint's drift alarm reads:
# how many features drifted in the judged window.
DRIFT_NAMESPACE = "modelplane/DataDrift"
DRIFTED_FEATURES = "DriftedFeatures"
ENDPOINT_DIMENSION = "EndpointName"
