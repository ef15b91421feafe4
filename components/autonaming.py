"""The physical name a resource gets when the program gives none: its logical name, `-`, 7 random characters.

pulumi-terraform-bridge's `AutoName` draws the name with `resource.NewUniqueHex(name + "-", 7, maxlen)`
(pulumi/pulumi sdk/go/common/resource/resource_id.go), which refuses a prefix too long for `maxlen`
with the message `too_long` reproduces. pulumi-aws applies it to every `name` input with a maximum of
255 (provider/autonaming.go, `setAutonaming`) and to an S3 bucket's `bucket` with 63, lowercased
(provider/resources.go); the AWS API then applies its own limits to the name it receives.
"""

RANDOM_CHARS = 7
SEPARATOR = "-"
DEFAULT_MAX_LENGTH = 255
# Stands in for the random part when checking a name's pattern: NewUniqueHex draws hex digits.
_EXAMPLE_SUFFIX = "0a1b2c3"


def prefix(logical_name: str) -> str:
    return logical_name + SEPARATOR


def example(logical_name: str, *, lowercase: bool = False) -> str:
    """A name the engine could draw: as long as any, made of the characters it uses."""
    name = prefix(logical_name) + _EXAMPLE_SUFFIX[:RANDOM_CHARS]
    return name.lower() if lowercase else name


def too_long(logical_name: str, max_length: int) -> str | None:
    """`NewUniqueHex`'s refusal, or None when the auto-name fits."""
    if len(prefix(logical_name)) + RANDOM_CHARS <= max_length:
        return None
    return f"name '{prefix(logical_name)}' plus {RANDOM_CHARS} random chars is longer than maximum length {max_length}"
