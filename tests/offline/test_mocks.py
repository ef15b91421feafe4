"""What the simulations' mocks answer for AWS (`modelplane/offline/mocks.py`): the partition, DNS suffix and
ARNs of the region that manages each call and resource, as the provider would (botocore's partition data)."""

from __future__ import annotations

import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from modelplane.offline.mocks import RealisticMocks

GET_PARTITION = "aws:index/getPartition:getPartition"


@pytest.mark.parametrize(
    ("region", "partition", "dns_suffix"),
    [
        ("eu-west-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_the_partition_is_the_stack_regions(region: str, partition: str, dns_suffix: str) -> None:
    answer, _ = RealisticMocks(region).call(MockCallArgs(GET_PARTITION, {}, ""))
    assert (answer["partition"], answer["dnsSuffix"]) == (partition, dns_suffix)
    key_id, outputs = RealisticMocks(region).new_resource(MockResourceArgs("aws:kms/key:Key", "stack-key", {}))
    assert outputs["arn"] == f"arn:{partition}:kms:{region}:123456789012:key/{key_id}"


def test_an_explicit_provider_or_a_resources_own_region_decides() -> None:
    mocks = RealisticMocks("eu-west-1")
    provider_id, _ = mocks.new_resource(MockResourceArgs("pulumi:providers:aws", "china", {"region": "cn-north-1"}))
    provider = f"urn:pulumi:dev::scenario::pulumi:providers:aws::china::{provider_id}"
    answer, _ = mocks.call(MockCallArgs(GET_PARTITION, {}, provider))
    assert (answer["partition"], answer["dnsSuffix"]) == ("aws-cn", "amazonaws.com.cn")
    _, bucket = mocks.new_resource(MockResourceArgs("aws:s3/bucket:Bucket", "capture", {}, provider=provider))
    assert (bucket["arn"], bucket["bucketRegionalDomainName"]) == (
        f"arn:aws-cn:s3:::{bucket['bucket']}",
        f"{bucket['bucket']}.s3.cn-north-1.amazonaws.com.cn",
    )
    _, topic = mocks.new_resource(MockResourceArgs("aws:sns/topic:Topic", "alarms", {"region": "us-east-1"}))
    assert topic["arn"].startswith("arn:aws:sns:us-east-1:")
    answer, _ = mocks.call(MockCallArgs(GET_PARTITION, {}, ""))
    assert answer["partition"] == "aws", "the stack's own region is unchanged"
