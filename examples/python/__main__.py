"""A platform team's program: its own network, key and image registry, with modelplane's components on top.

Every value the components take from the team's resources is an output (subnet ids, the key ARN, the
repository URL): the components accept `pulumi.Input` wherever a value only flows into a resource.
"""

import pulumi
import pulumi_aws as aws
from modelplane_components.alert_topic import AlertTopic
from modelplane_components.model_secrets import ModelSecrets
from modelplane_components.monitoring import EndpointMonitoring
from modelplane_components.sagemaker_endpoint import DeploymentStrategy, SageMakerEndpoint, StepType, VariantArgs
from modelplane_components.secret_read_policy import SecretReadPolicy

ENDPOINT = "fraud-scoring"
config = pulumi.Config()

# The team's network: two private subnets and a security group for the model containers.
vpc = aws.ec2.Vpc("network", cidr_block="10.40.0.0/16", enable_dns_hostnames=True)
subnets = [
    aws.ec2.Subnet(f"private-{zone}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=f"eu-west-1{zone}")
    for zone, cidr in (("a", "10.40.1.0/24"), ("b", "10.40.2.0/24"))
]
models_group = aws.ec2.SecurityGroup("model-containers", vpc_id=vpc.id, description="Fraud model containers")

# The team's key: the account administers it; CloudWatch Logs and alarms may use it for what they encrypt.
identity = aws.get_caller_identity_output()
region = aws.get_region_output().region
key = aws.kms.Key(
    "team-key",
    description="Fraud team: models, logs, alarms and secrets",
    enable_key_rotation=True,
    policy=pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", identity.account_id, ":root")},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchUses",
                    "Effect": "Allow",
                    "Principal": {
                        "Service": [pulumi.Output.concat("logs.", region, ".amazonaws.com"), "cloudwatch.amazonaws.com"]
                    },
                    "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                    "Resource": "*",
                },
            ],
        }
    ),
)

# The team's registry: where CI pushes images and model archives.
images = aws.ecr.Repository("images", name="fraud-scoring", image_tag_mutability="IMMUTABLE")
archives = aws.s3.Bucket("model-archives")

champion: VariantArgs = {
    "name": "champion",
    "image_tag": "3.1.0",
    "model_artifact": "fraud/3.1.0/model.tar.gz",
    "instance_type": "ml.m5.large",
    "instance_count": 2,
}
alerts = AlertTopic("alerts", {"kms_key_arn": key.arn, "emails": ["fraud-oncall@example.com"]})
monitoring = EndpointMonitoring(
    "fraud-monitoring",
    {
        "endpoint_name": ENDPOINT,
        "variants": [{"name": champion["name"], "instance_type": champion["instance_type"]}],
        "alarm_topic_arn": alerts.arn,
        "kms_key_arn": key.arn,
        "log_retention_days": 90,
        "alarm_on_no_traffic": True,
    },
)
secrets = ModelSecrets(
    "secrets",
    {
        "secrets": {
            "scoring-token": {
                "description": "Token for the scoring service.",
                "value": config.require_secret("scoring-token"),
            }
        },
        "kms_key_arn": key.arn,
    },
    opts=pulumi.ResourceOptions(protect=True),
)
endpoint = SageMakerEndpoint(
    "fraud",
    {
        "endpoint_name": ENDPOINT,
        "variants": [champion],
        "repository_url": images.repository_url,
        "repository_arn": images.arn,
        "bucket_name": archives.bucket,
        "bucket_arn": archives.arn,
        "kms_key_arn": key.arn,
        "network": {"subnet_ids": [subnet.id for subnet in subnets], "security_group_ids": [models_group.id]},
        "deployment": {"strategy": DeploymentStrategy.CANARY, "step": {"type": StepType.CAPACITY_PERCENT, "value": 10}},
        "autoscaling": {"min_capacity": 2, "max_capacity": 6},
        "data_capture": {"sampling_percent": 20},
        "secret_arns": {"scoring-token": secrets.arns["scoring-token"]},
        "rollback_alarm_names": monitoring.rollback_alarm_names,
        "retain_superseded_configurations": True,
    },
    # The alarms exist before a deployment may roll back on them; the endpoint itself is protected.
    opts=pulumi.ResourceOptions(depends_on=[monitoring], protect=True),
)
# After its readers: only the endpoint's role (and the account's administrators) may read the token.
SecretReadPolicy(
    "scoring-token-readers",
    {"secret_arn": secrets.arns["scoring-token"], "reader_arns": [endpoint.role_arn]},
)

pulumi.export("endpoint_name", endpoint.endpoint_name)
pulumi.export("rollback_alarm_names", monitoring.rollback_alarm_names)
