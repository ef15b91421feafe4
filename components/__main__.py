"""Entry point of the `modelplane` component provider: Pulumi runs this folder (`PulumiPlugin.yaml`)."""

from modelplane_components.provider import serve

if __name__ == "__main__":
    serve()
