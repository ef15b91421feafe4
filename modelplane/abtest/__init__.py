"""Deciding an A/B, canary or shadow test from live metrics: `modelplane compare` and the promote gate.

- `observations`: the per-period series of the two variants, whatever the source;
- `cloudwatch`, `prometheus`: the sources (SageMaker and business metrics; Kubernetes);
- `statistics`: the tests (scipy.stats) and the multiplicity correction;
- `decision`: metrics, margins and sample minimums to a verdict;
- `report`, `plot`: the table, JSON, Markdown and PNG;
- `variants`: which variant is the baseline and which the candidate;
- `verdict_file`: the JSON contract `promote --require-verdict` reads back.
"""
