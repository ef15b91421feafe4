"""`pulumi up` entry point: load the stack's settings, build its resources, export the outputs."""

import pulumi

from modelplane.config.loader import load_from_pulumi
from modelplane.program.build import build

for output_name, value in build(load_from_pulumi()).items():
    pulumi.export(output_name, value)
