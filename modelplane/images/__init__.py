"""The model-serving image: build it from the lock, test it against SageMaker's and Kubernetes' contracts,
push it by digest (`modelplane image build|test|push`; the argparse wiring is `modelplane/commands/image.py`).

Everything talks to the Docker daemon through its Engine API (the `docker` SDK, API version negotiated),
so whichever `docker` CLI is on PATH does not matter.
"""
