"""Benchmark of `modelplane capacity --stack prod` against its budget (issue 27); a measurement, not a test.

`python benchmarks/capacity_bench.py [--repeat N] [--quotas Q] [--endpoints E]` runs the command in a fresh
process N times (default 5) with AWS answered at once: botocore's Stubber returns Q SageMaker quotas over
pages of 100 (default 2,000, about what the service lists) and E other endpoints (default 50) to describe, so
the time is everything but AWS's latency: interpreter, imports, the stack file and its validation, the
sums, request and answer validation against botocore's models, the table. Wall times are medians; peak RSS
is the process's. Budget: <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


BUDGET_SECONDS = 3.0
# The driver: stubbed Service Quotas and SageMaker clients in place of AWS's, then the command line.
_DRIVER = """
import sys
import botocore.session
from botocore.stub import Stubber
from modelplane.aws import Aws
from modelplane.cli import main
from modelplane.live import capacity

quotas, endpoints = int(sys.argv[1]), int(sys.argv[2])
session = botocore.session.get_session()
clients = {{name: session.create_client(name, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
            for name in ("service-quotas", "sagemaker")}}
quota_stub, sagemaker_stub = Stubber(clients["service-quotas"]), Stubber(clients["sagemaker"])
kinds = [f"ml.{{family}}.{{size}}" for family in ("m5", "c5", "g5", "p4d", "r5", "m6i", "c6i", "g6", "inf2", "trn1")
         for size in ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge")]
usages = ["endpoint usage", "training job usage", "processing job usage", "transform job usage", "notebook instance usage",
          "spot training job usage", "cluster usage", "training warm pool usage"]
names = [f"{{kind}} for {{usage}}" for usage in usages for kind in kinds][:quotas]
names += [f"quota {{index}}" for index in range(quotas - len(names))]
page = 100
for start in range(0, quotas, page):
    answer = {{"Quotas": [{{"QuotaCode": f"L-{{index:08X}}", "QuotaName": name, "Value": 100.0}}
                          for index, name in enumerate(names[start:start + page], start)]}}
    if start + page < quotas:
        answer["NextToken"] = str(start + page)
    quota_stub.add_response("list_service_quotas", answer)
others = [f"other-{{index}}" for index in range(endpoints)]
sagemaker_stub.add_response("list_endpoints", {{"Endpoints": [
    {{"EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:eu-west-1:1:endpoint/{{name}}",
      "CreationTime": 0, "LastModifiedTime": 0, "EndpointStatus": "InService"}} for name in others]}})
for name in others:
    sagemaker_stub.add_response("describe_endpoint", {{
        "EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:eu-west-1:1:endpoint/{{name}}",
        "EndpointConfigName": f"{{name}}-config", "EndpointStatus": "InService", "CreationTime": 0, "LastModifiedTime": 0,
        "ProductionVariants": [{{"VariantName": "main", "CurrentInstanceCount": 1}}]}})
for name in others:
    sagemaker_stub.add_response("describe_endpoint_config", {{
        "EndpointConfigName": f"{{name}}-config", "EndpointConfigArn": f"arn:aws:sagemaker:eu-west-1:1:endpoint-config/{{name}}",
        "ProductionVariants": [{{"VariantName": "main", "ModelName": "m", "InstanceType": "ml.m5.xlarge"}}],
        "CreationTime": 0}})
quota_stub.activate()
sagemaker_stub.activate()
capacity.DESCRIBE_THREADS = 1
Aws.client = lambda self, service, **_: clients[service]
sys.exit(main(["capacity", "--stack", "prod"]))
"""


def run_once(quotas: int, endpoints: int) -> tuple[float, int, int]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", _DRIVER.format(), str(quotas), str(endpoints)],
        cwd=REPOSITORY,
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, process.returncode, usage.ru_maxrss // 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quotas", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=50)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    runs = [run_once(args.quotas, args.endpoints) for _ in range(args.repeat)]
    codes = {code for _, code, _ in runs}
    wall = statistics.median(seconds for seconds, _, _ in runs)
    rss = max(peak for _, _, peak in runs)
    print(f"load average at end: {os.getloadavg()[0]:.2f}; exit codes {sorted(codes)}")
    print()
    print("| command | quotas listed | other endpoints | wall s (median) | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    print(f"| capacity --stack prod | {args.quotas} | {args.endpoints} | {wall:.2f} | {rss} |")
    print()
    within = wall <= BUDGET_SECONDS and codes <= {0, 1}
    print(f"budget (<= {BUDGET_SECONDS} s): {'met' if within else 'MISSED'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
