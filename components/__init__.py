"""modelplane's reusable Pulumi components, installed as `modelplane_components`.

Import each from its module (`from modelplane_components.sagemaker_endpoint import SageMakerEndpoint`);
this package imports nothing itself, so a program pays only for the providers it uses.
`provider` serves all of them to other languages (`pulumi package add`).
"""
