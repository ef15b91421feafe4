"""Which input properties express which security concern: the mapping the property index is built from.

This is data, reviewed like code. Each `Signal` names the properties (by their camelCase name as the
pack receives them, the name of the block that holds them and, rarely, the resource type) that carry
one concern, and says what value is insecure. `python -m tools.generate.property_index` matches every
input property of every resource type of the installed `pulumi_aws` against these signals and writes
`property_index.json`: resource type -> (property path, signal, documented default). The rules of
`by_property.py` judge each resource by the entries of its type, so a type AWS adds later is judged
as soon as its inputs follow the provider's naming conventions (`kmsKeyId`, `publiclyAccessible`,
`deletionProtection`, `...EncryptionEnabled`).

A property the resource leaves out takes the value the provider documents as its default ("Defaults to
`false`", parsed from the property's description in the SDK); `absent` says what to do when there is
none. `docs/policies.md` lists every signal with the number of types it reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from .common import is_world

AT_REST = "encryption-at-rest"
CUSTOMER_KEY = "encryption-customer-managed-key"
IN_TRANSIT = "encryption-in-transit"
PUBLIC = "public-exposure"
PUBLIC_DATA = "public-data-exposure"
LOGGING = "audit-logging"
DURABILITY = "data-durability"
METADATA = "instance-metadata-v2"
IAM_DOCUMENTS = "iam-documents"
ENVIRONMENT = "environment-secrets"
CONTAINERS = "container-definitions"
# Kubernetes pod specs: in the index for the AWS types whose inputs hold one (a Batch job on EKS);
# built-in Kubernetes kinds keep theirs at the path their schema gives (the index's `kubernetes` part),
# custom resources wherever their shape says (kubernetes.py).
PODS = "pod-specs"


# What a sibling's value must be for a finding not to apply: a regular expression it matches in full
# (case-insensitively), or a test of the value as text.
Exemption = str | Callable[[str], bool]


class Kind(StrEnum):
    SWITCH = "switch"
    """A boolean whose `secure` value is the safe one (strings "true"/"false" count too)."""
    CHOICE = "choice"
    """A string (or list of strings): `insecure` matches a bad value, or `accepted` fails to match."""
    KEY = "key"
    """A KMS key reference: an AWS managed key (`alias/aws/...`) is no customer key; absent, AWS's own key is used."""
    CIDRS = "cidrs"
    """Source CIDR ranges: the whole internet (0.0.0.0/0, ::/0) beyond the public web ports."""
    MINIMUM = "minimum"
    """A number of days that must reach the rule's configured minimum."""
    URL = "url"
    """A URL the service sends data to: plain `http://` crosses the network unencrypted."""
    BLOCK = "block"
    """A configuration block whose absence (or emptiness) means the feature is off."""
    SWITCHES = "switches"
    """A block of switches (`LOG_SWITCHES`, at any depth): insecure when every one is off. A block with
    its own `enabled` is left to the signal of that switch."""
    DOCUMENT = "document"
    """A JSON policy document (IAM, resource or endpoint policy)."""
    VARIABLES = "variables"
    """Environment variables: a name -> value map, or a list of {name, value}."""
    CONTAINER_JSON = "container-json"
    """ECS/Batch container definitions, a JSON string (or objects) of one or more containers, nested as each input nests them."""
    POD = "pod"
    """A Kubernetes pod spec that an AWS service runs (`containers`, `hostNetwork`, `volumes`)."""


class Absent(StrEnum):
    DEFAULT = "default"
    """Judge the documented default; when the provider documents none (or only a conditional one), do not judge."""
    DEFAULT_OR_INSECURE = "default-or-insecure"
    """Judge the documented default; with none documented, an opt-in switch left out is off."""
    INSECURE = "insecure"
    """Leaving the property out is itself the finding (a key not named, a block not configured)."""
    IGNORE = "ignore"
    """Judge only values the resource sets."""


@dataclass(frozen=True)
class Settings:
    """The property holds settings a service reads by key: a string map (a Glue connection's
    `connectionProperties`, an MSK connector's `connectorConfiguration`) or a JSON document in a string
    (an EMR security configuration, a DMS task's settings). The signal then judges the values of the
    keys it names there, not the property itself; the schema knows nothing of those keys."""

    keys: str | None = None
    """Regular expression a key's words must match in full, at any depth: the key in lower case with
    `_` between its words (`JDBC_ENFORCE_SSL`, `jdbcEnforceSsl`, `jdbc.enforce.ssl` and `--jdbc-enforce-ssl`
    all read `jdbc_enforce_ssl`); a bare `enabled` reads with its block's words (`logging_enabled`)."""
    required: str | None = None
    """One key the service documents, as it spells it (dots between nested keys): judged where it is,
    and, left out (or the whole property left out), by `default` or the signal's `absent`."""
    default: str | None = None
    """What the service takes for `required` when it is left out."""
    pairs: bool = False
    """The property is a list of option settings, each a block naming one setting and its value
    (`{namespace, name, value}`: an Elastic Beanstalk environment's `settings`); `keys` matches the
    words of `namespace:name`."""


@dataclass(frozen=True)
class Signal:
    id: str
    concern: str
    kind: Kind
    names: str
    """Regular expression the property's camelCase name must match in full."""
    schema: tuple[str, ...]
    """The schema types of the property's values it applies to (boolean, string, number, object)."""
    within: str | None = None
    """Regular expression the enclosing block's name must match in full ("" for a top-level input); None: any."""
    path: str | None = None
    """Regular expression searched in the property's whole path (`ingress[].cidrBlocks`)."""
    types: str = r"aws:.*"
    """Regular expression the resource type token must match in full."""
    secure: bool | None = None
    insecure: str | None = None
    accepted: str | None = None
    absent: Absent = Absent.DEFAULT
    needs_parent: bool = False
    """Judge an absent value only when the block that holds it is present."""
    exempt: Mapping[str, Exemption] = field(default_factory=lambda: MappingProxyType({}))
    """Sibling property path (from the resource's inputs when it starts with `/`) -> regular expression
    (or test): when every value there matches (an absent one matching the empty string), the finding
    does not apply (an OPTIONS method, a read replica)."""
    only_stateful: bool = False
    """Apply only to types that hold data: they carry an at-rest encryption or backup property too."""
    why: str = ""
    """What the finding means, for the violation message."""
    exclude: tuple[str, ...] = ()
    """Reviewed false matches: regular expressions over `<type>::<path>`, each with a comment."""
    waivable: bool = True
    """Whether a waiver may accept its findings: not where data itself is opened to everyone (a public
    snapshot, an account's public access block left open); every signal of a concern agrees, and the
    concern's rule is tagged `non-waivable` when they are not."""
    unless_described: str | None = None
    """Regular expression searched in the property's description in the provider's schema: a property
    described so is not what the signal names, whatever its type (a session policy is no grant)."""
    settings: Settings | None = None
    """Judge the settings the property holds by key rather than the property's own value."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "exempt", MappingProxyType(dict(self.exempt)))


# An exemption by presence: any value (a read replica's source) makes the finding not apply, even one
# not known yet during preview.
ANY_VALUE = ".+"


def narrower_than_the_world(source: str) -> bool:
    """A source range that is given and not as wide as the internet (`common.is_world`)."""
    return bool(source.strip()) and not is_world(source)


# A read replica (an RDS instance's `replicateSourceDb`, a cluster's `replicationSourceIdentifier`)
# takes its storage encryption, key and backups from its source, which the rules judge.
READ_REPLICA = MappingProxyType({"replicateSourceDb": ANY_VALUE, "replicationSourceIdentifier": ANY_VALUE})


def _words(*names: str) -> str:
    return "|".join(names)


# Names of the blocks that configure a resource's access or audit logs.
LOG_BLOCKS = _words(
    "logging",
    "loggingConfig",
    "loggingConfiguration",
    "accessLogs",
    "accessLogSettings",
    "logPublishingOptions",
    "loggingInfo",
    "logs",
    "logConfig",
    "logSettings",
    "enabledCloudwatchLogsExports",
    "enableCloudwatchLogsExports",
    "enabledClusterLogTypes",
    "logDestinationConfigs",
    "auditLogConfiguration",
    # A Managed Service for Apache Flink (Kinesis Data Analytics) application's CloudWatch log stream.
    "cloudwatchLoggingOptions",
)
# Log blocks that are no access or audit log, or that another resource replaces.
NOT_AUDIT_LOGS = (
    # Lambda functions log to CloudWatch Logs without this block; it only tunes the format.
    r"aws:lambda/function:Function::loggingConfig",
    # Deprecated in favour of their own resources (bucket logging, Redshift logging).
    r"aws:s3/bucket(V2)?:.*::logging",
    r"aws:redshift/cluster:Cluster::logging",
    # Not an access or audit log: build output, rule-evaluation and event-delivery diagnostics,
    # a CloudFormation extension's own handler.
    r"aws:(cloudformation|imagebuilder|amp)/.*",
    r"aws:cloudwatch/eventBus:.*",
)
# The switches of a log block (`logging-switches`): each destination's `enabled`, each log kind's own.
LOG_SWITCHES = r"enabled|general|audit"

# Names of encryption blocks: a key reference inside one is the resource's own data key
# (`serverSideEncryption.kmsKeyArn`, `encryptAtRest.kmsKeyId`, EKS's `encryptionConfig.provider.keyArn`).
ENCRYPTION_BLOCK = r"(?i)[a-z0-9]*(encrypt|sse)[a-z0-9]*|kmsConfiguration|kmsKeyDetails|provider"
# What a path through a transit block looks like: those settings belong to encryption in transit.
TRANSIT_PATH = r".*::.*([Tt]ransit|[Tt]ls).*"

# --- settings held by key (see `Settings`) ------------------------------------------------------------
# The properties that hold them: string maps, JSON strings and `key=value` texts named for settings
# (`connectionProperties`, `connectorConfiguration`, `configurationsJson`, `replicationTaskSettings`,
# `advancedOptions`, `defaultArguments`, `serverProperties`, `extraConnectionAttributes`, an EMR security
# configuration's `configuration`); a value that is none of those (a name, a URL) holds none.
SETTINGS_HOLDERS = (
    r"properties|configuration|configurations|options|settings|arguments|parameters|configs|extraConnectionAttributes"
    r"|[a-z][A-Za-z0-9]*(Properties|Configuration|Configurations|Options|Settings|Arguments|Parameters|Configs|Json)"
)
# A map's values, or the string itself (not a list of strings, not a block).
SETTINGS_HOLDER_PATH = r"(\{\}|[A-Za-z0-9])$"
SETTINGS_NOT_HELD = (
    # Request and response parameter mappings, WAF inspection rules, JSON schemas of tools' inputs and
    # a Google service account file: data, not the service's settings.
    r"aws:(apigateway|apigatewayv2|wafv2)/.*",
    r".*::.*[Ss]chema.*",
    r"aws:pinpoint/.*::serviceJson",
)
# Words of keys about transport security (TLS by any name, SASL's and Spark's network encryption).
_TRANSIT_WORDS = r"ssl|tls|https|sasl_encryption|transit|transit_encryption|secure_transport|network_crypto"
# Words that turn a key's meaning around (`KAFKA_SKIP_CUSTOM_CERT_VALIDATION`, `disable_ssl`).
_NEGATING = r"skip|disable|disabled|no|not|insecure|ignore|bypass|allow"
# A key that names a choice among modes (`ssl_mode`, `security.protocol`) rather than a switch.
SETTING_TRANSIT_MODE = (
    r"(.+_)?(security_protocol|ssl_?mode|tls_?mode|transit_encryption_mode|encryption_in_transit_mode)"
)
SETTING_TRANSIT_ON = (
    rf"(?!(.*_)?({_NEGATING})(_|$))(?!{SETTING_TRANSIT_MODE}$)("
    rf"(.+_)?(enforce|enforced|require|required|force|enable|enabled|use|only)_(.+_)?({_TRANSIT_WORDS})(_encryption)?"
    rf"|(.+_)?({_TRANSIT_WORDS})(_(enabled|enforced|required|enable|only|on))?"
    r"|(.+_)?(verify|validate|check)_(.+_)?(ssl|tls|certs?|certificates?|hostnames?)"
    r"|(.+_)?(ssl|tls|certs?|certificates?|hostnames?)_(verify|verification|validation|check|checks)(_enabled)?"
    r"|(.+_)?reject_unauthorized)"
)
SETTING_TRANSIT_OFF = (
    r"(.+_)?(skip|disable|no|ignore|bypass|trust_all)_(.+_)?"
    r"(ssl|tls|https|certs?|certificates?|verification|validation|verify|hostnames?|transit_encryption)(_.*)?"
    rf"|(.+_)?({_TRANSIT_WORDS})_disabled"
    r"|(.+_)?insecure[a-z0-9]*(_.*)?"
    r"|(.+_)?allow_(insecure|plaintext|unencrypted|http)(_.*)?"
)
_NOT_TRANSIT = rf"(?!(.*_)?({_TRANSIT_WORDS}|in_transit)(_|$))"
SETTING_AT_REST_ON = (
    rf"{_NOT_TRANSIT}(?!(.*_)?({_NEGATING}|has)(_|$))("
    r"(.+_)?(enable|enabled|use|require|required|enforce)_(.+_)?(encryption|encrypted|sse)"
    r"|(.+_)?(encrypted|encryption|encrypt_at_rest|encryption_at_rest|at_rest_encryption|sse)(_(enabled|enable|on))?)"
)
SETTING_AT_REST_OFF = (
    rf"{_NOT_TRANSIT}((.+_)?(disable|skip|no)_(.+_)?(encryption|encrypt)|(.+_)?(encryption|encrypt)_(disabled|off))"
)
SETTING_ENCRYPTION_MODE = rf"{_NOT_TRANSIT}(.+_)?(encryption|sse|server_side_encryption)_(mode|type|option|algorithm)"
SETTING_KEY = r"(.+_)?(kms_(master_)?key(_id|_arn|_identifier)?|kms_arn|cmk_arn)"
SETTING_PUBLIC = r"(.+_)?(allow_from_public|publicly_accessible|public_access_enabled)"
SETTING_AWS_OWNED_KEY = r"(.+_)?aws_owned_(kms_)?key"
SETTING_LOGGING_ON = (
    rf"(?!(.*_)?({_NEGATING})(_|$))("
    r"(.+_)?enable_(.+_)?(logging|audit|audit_logs?|audit_logging|access_logs?|access_logging)"
    r"|(.+_)?(logging|audit_logs?|audit_logging|access_logs?|access_logging|cloudwatch_logging)_(enabled|enable)"
    r"|(.+_)?(logging|audit_logging|access_logging))"
)

SIGNALS: tuple[Signal, ...] = (
    # --- encryption at rest ------------------------------------------------------------------------
    Signal(
        id="at-rest-switch",
        concern=AT_REST,
        kind=Kind.SWITCH,
        # `encrypted`, `storageEncrypted`, `kmsEncrypted`, `atRestEncryptionEnabled`, `rootVolumeEncryptionEnabled`...
        names=r"encrypted|[a-z][A-Za-z0-9]*(Encrypted|EncryptionEnabled)",
        schema=("boolean", "string"),
        secure=True,
        absent=Absent.DEFAULT_OR_INSECURE,
        exempt=READ_REPLICA,
        why="the data is stored unencrypted",
        exclude=(
            TRANSIT_PATH,
            # A cache's encryption, judged below only while caching is on.
            r".*::(.*\.)?cacheDataEncrypted",
            # A hint for the Glue API's response, not how the data is stored.
            r".*::.*returnConnectionPasswordEncrypted",
            # Describes an existing snapshot being registered or copied; the copy's own flag is judged.
            r"aws:ec2/(ami|amiFromInstance):.*::ebsBlockDevices\[\]\.encrypted",
        ),
    ),
    Signal(
        id="cache-encrypted",
        concern=AT_REST,
        kind=Kind.SWITCH,
        names="cacheDataEncrypted",
        schema=("boolean",),
        secure=True,
        absent=Absent.DEFAULT_OR_INSECURE,
        # An API stage's cache holds nothing while caching is off.
        exempt={"cachingEnabled": "|false"},
        why="cached responses are stored unencrypted",
    ),
    Signal(
        id="at-rest-block-switch",
        concern=AT_REST,
        kind=Kind.SWITCH,
        names="enabled",
        within=_words(
            "encryptAtRest", "encryptionAtRest", "encryptionAtRestOptions", "sseSpecification", "serverSideEncryption"
        ),
        schema=("boolean",),
        secure=True,
        # A delivery stream reading a Kinesis stream keeps the source stream's encryption.
        exempt={"/kinesisSourceConfiguration": ANY_VALUE},
        why="the data is stored unencrypted",
        exclude=(
            # DynamoDB always encrypts; `enabled` only chooses a KMS key over the one AWS owns (customer-key rule).
            r"aws:dynamodb/.*",
        ),
    ),
    Signal(
        id="at-rest-default-switch",
        concern=AT_REST,
        kind=Kind.SWITCH,
        # A resource that is itself an account's encryption default (EBS encryption by default, CIS AWS 2.2.1):
        # its own `enabled` is the switch.
        names="enabled",
        within="",
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*EncryptionByDefault",
        schema=("boolean",),
        secure=True,
        why="new volumes in the account and region are stored unencrypted",
    ),
    Signal(
        id="at-rest-disabled",
        concern=AT_REST,
        kind=Kind.SWITCH,
        names=_words("encryptionDisabled", "disableEncryption"),
        schema=("boolean",),
        secure=False,
        why="the output is stored unencrypted",
    ),
    Signal(
        id="at-rest-mode",
        concern=AT_REST,
        kind=Kind.CHOICE,
        names=r"encryptionType|encryptionMode|encryptionOption|[a-z][A-Za-z0-9]*EncryptionMode|sseType",
        schema=("string",),
        insecure=r"none|disabled|no_encryption",
        why="the data is stored unencrypted",
        exclude=(
            TRANSIT_PATH,
            # MACsec on a Direct Connect link and HLS segment encryption: not storage.
            r"aws:(directconnect|medialive)/.*",
        ),
    ),
    Signal(
        id="security-configuration",
        concern=AT_REST,
        kind=Kind.BLOCK,
        # EMR clusters and Glue jobs, crawlers and endpoints encrypt only through a named security configuration.
        names="securityConfiguration",
        within="",
        schema=("string",),
        absent=Absent.INSECURE,
        why="no security configuration encrypts its data, logs and traffic",
    ),
    # --- customer managed keys ---------------------------------------------------------------------
    Signal(
        id="customer-key",
        concern=CUSTOMER_KEY,
        kind=Kind.KEY,
        names=_words(
            "kmsKeyId",
            "kmsKeyArn",
            "kmsKey",
            "kmsMasterKeyId",
            "kmsKeyIdentifier",
            "kmsArn",
            "cmkArn",
            "encryptionKey",
            "encryptionKeyArn",
            "awsKmsKeyArn",
            "awsKmsKeyId",
            "kmsEncryptionKey",
            "customerManagedKeyArn",
            "customerEncryptionKeyArn",
        ),
        within="",
        schema=("string",),
        absent=Absent.INSECURE,
        exempt=READ_REPLICA,
        why="the data is encrypted with a key AWS manages (or not at all), whose policy you cannot restrict",
        exclude=(
            # A function's key encrypts only its environment variables: `function-environment-key` judges it.
            r"aws:lambda/function:Function::kmsKeyArn",
            # KMS's own resources refer to keys; they are not data encrypted under one.
            r"aws:kms/.*",
            r"aws:ebs/defaultKmsKey:.*",
            # Objects take their bucket's default encryption; a key per object is optional by design.
            r"aws:s3/(bucketObject|bucketObjectv2|objectCopy):.*",
            # A key for an optional feature of the resource, not for the data it holds.
            r"aws:lambda/eventSourceMapping:.*",
            r"aws:redshift/snapshotCopyGrant:.*",
        ),
    ),
    Signal(
        id="function-environment-key",
        concern=CUSTOMER_KEY,
        kind=Kind.KEY,
        names="kmsKeyArn",
        within="",
        types=r"aws:lambda/function:Function",
        schema=("string",),
        absent=Absent.INSECURE,
        # Nothing to encrypt without environment variables.
        exempt={"/environment.variables": ""},
        why="its environment variables are encrypted with a key AWS manages, whose policy you cannot restrict",
    ),
    Signal(
        id="customer-key-in-encryption-block",
        concern=CUSTOMER_KEY,
        kind=Kind.KEY,
        names=_words("kmsKeyId", "kmsKeyArn", "kmsKey", "keyArn", "keyId", "kmsMasterKeyId", "kmsKeyIdentifier"),
        within=ENCRYPTION_BLOCK,
        schema=("string",),
        absent=Absent.INSECURE,
        # A delivery stream reading a Kinesis stream keeps the source stream's encryption.
        exempt={"/kinesisSourceConfiguration": ANY_VALUE},
        why="the data is encrypted with a key AWS manages (or not at all), whose policy you cannot restrict",
        exclude=(r"aws:kms/.*", r"aws:ebs/defaultKmsKey:.*"),
    ),
    Signal(
        id="customer-key-named",
        concern=CUSTOMER_KEY,
        kind=Kind.KEY,
        # Any key reference (`performanceInsightsKmsKeyId`, a feature store's `securityConfig.kmsKeyId`...): judged when set.
        names=r"[a-z][A-Za-z0-9]*(KmsKey|KmsMasterKey)(Id|Arn|Identifier)?|[a-z][A-Za-z0-9]*EncryptionKey(Id|Arn)?|kms(Key|MasterKey)(Id|Arn|Identifier)?",
        schema=("string",),
        absent=Absent.IGNORE,
        why="",
        exclude=(r"aws:kms/.*",),
    ),
    Signal(
        id="customer-key-mode",
        concern=CUSTOMER_KEY,
        kind=Kind.CHOICE,
        names=r"encryptionType|encryptionMode|encryptionOption|sseAlgorithm|sseType|[a-z][A-Za-z0-9]*EncryptionMode",
        schema=("string",),
        insecure=r"aes256|sse[-_]s3|aws_owned_kms_key|aws_owned_cmk",
        absent=Absent.IGNORE,
        why="the data is encrypted with a key AWS owns, not a customer managed KMS key",
        exclude=(TRANSIT_PATH, r"aws:(directconnect|medialive)/.*"),
    ),
    # --- encryption in transit ---------------------------------------------------------------------
    Signal(
        id="in-transit-switch",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        names=_words(
            "transitEncryptionEnabled",
            "tlsEnabled",
            "requireTls",
            "enforceHttps",
            "inCluster",
            "sslEnabled",
            "useSsl",
            "requireSsl",
        ),
        schema=("boolean",),
        secure=True,
        absent=Absent.DEFAULT_OR_INSECURE,
        # A node of a replication group takes the group's setting.
        exempt={"replicationGroupId": ANY_VALUE},
        why="traffic crosses the network unencrypted",
    ),
    Signal(
        id="in-transit-block-switch",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        names="enabled",
        within=_words("nodeToNodeEncryption", "encryptionInTransit", "transitEncryption"),
        schema=("boolean",),
        secure=True,
        why="traffic between nodes crosses the network unencrypted",
    ),
    Signal(
        id="in-transit-explicitly-off",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        # Off only when a resource turns it off: most jobs run on one instance and have no traffic to encrypt.
        names="enableInterContainerTrafficEncryption",
        schema=("boolean",),
        secure=True,
        absent=Absent.IGNORE,
        why="traffic between training containers crosses the network unencrypted",
    ),
    Signal(
        id="in-transit-insecure-switch",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        names=_words("insecureSsl", "insecureSkipVerification", "disableSsl", "allowInsecureTransport"),
        schema=("boolean",),
        secure=False,
        absent=Absent.IGNORE,
        why="TLS is switched off or its certificate is not verified",
    ),
    Signal(
        id="in-transit-mode",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        names=_words(
            "clientBroker",
            "transitEncryption",
            "transitEncryptionMode",
            "inTransitEncryption",
            "sslMode",
            "clusterEndpointEncryptionType",
            # A Kafka or Redis client's protocol (a DMS endpoint's `kafkaSettings`, `redisSettings`).
            "securityProtocol",
            "sslSecurityProtocol",
            # Mail delivery and receipt: `Optional` accepts (or falls back to) an unencrypted connection.
            "tlsPolicy",
        ),
        schema=("string",),
        insecure=r"plaintext|tls_plaintext|sasl[-_]plaintext|disabled|preferred|none|optional",
        why="clients may connect without TLS",
    ),
    Signal(
        id="in-transit-block-mode",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        names="encryptionType",
        within=r"(?i)[a-z]*transit[a-z]*",
        schema=("string",),
        insecure=r"plaintext",
        why="clients may connect without TLS",
    ),
    Signal(
        id="viewer-protocol",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        names="viewerProtocolPolicy",
        schema=("string",),
        insecure="allow-all",
        why="viewers may use plain HTTP",
    ),
    Signal(
        id="engine-tls-parameter",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        # A database engine's parameter that lets clients connect without TLS: PostgreSQL's and SQL
        # Server's `rds.force_ssl`, MySQL's `require_secure_transport`, DocumentDB's `tls`, Neptune's
        # `neptune_enforce_ssl`, Redshift's `require_ssl`, however the value is spelt (0, OFF, false, disabled).
        names="value",
        within="parameters",
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*ParameterGroup",
        schema=("string",),
        insecure=r"0|off|false|disabled",
        absent=Absent.IGNORE,
        exempt={"name": r"(?!(rds\.force_ssl|require_secure_transport|tls|require_ssl|[a-z]+_enforce_ssl)$).*"},
        why="the engine accepts connections without TLS",
    ),
    Signal(
        id="origin-protocol",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        # What a CDN speaks to a custom origin: `http-only` carries every request unencrypted behind the
        # HTTPS edge (AWS Security Hub CloudFront.9).
        names="originProtocolPolicy",
        # A distribution's custom origin, or a VPC origin (a private load balancer behind CloudFront).
        within=_words("customOriginConfig", "vpcOriginEndpointConfig"),
        schema=("string",),
        insecure="http-only",
        absent=Absent.IGNORE,
        why="requests travel to the origin over plain HTTP",
    ),
    Signal(
        id="listener-protocol",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        names="protocol",
        within="",
        # Front doors: load balancer (and VPC Lattice) listeners, where clients connect.
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*(Listener|LoadBalancer)",
        schema=("string",),
        insecure="http",
        # Left out, an Application Load Balancer's listener speaks HTTP. A listener with a certificate
        # speaks TLS; a Gateway Load Balancer's has neither protocol nor port.
        absent=Absent.INSECURE,
        exempt={"defaultActions[].redirect.protocol": "HTTPS", "certificateArn": ANY_VALUE, "port": ""},
        why="clients connect over plain HTTP; redirect to HTTPS or listen on HTTPS",
    ),
    Signal(
        id="inline-listener-protocol",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        # A Classic Load Balancer's inline listeners: `lbProtocol` is required and its port is `lbPort`, so
        # neither the Gateway Load Balancer's missing port nor a missing protocol applies here.
        names="lbProtocol",
        within="listeners",
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*(Listener|LoadBalancer)",
        schema=("string",),
        insecure="http",
        absent=Absent.IGNORE,
        why="clients connect over plain HTTP; listen on HTTPS",
    ),
    Signal(
        id="server-protocol",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        # The protocol a service speaks to a server it reads or writes (a DataSync object storage location):
        # HTTP carries the data and the credentials unencrypted.
        names="serverProtocol",
        schema=("string",),
        insecure="http",
        absent=Absent.IGNORE,
        why="data and credentials cross the network to the server unencrypted",
        exclude=(
            # An agent runtime's application protocol (HTTP among MCP and A2A), served behind its HTTPS endpoint.
            r"aws:bedrock/agentcoreAgentRuntime:.*",
        ),
    ),
    Signal(
        id="plaintext-protocol",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        # File transfer endpoints: FTP sends credentials and files in clear text (SFTP and FTPS do not).
        names="protocols",
        types=r"aws:transfer/.*",
        schema=("string",),
        insecure="ftp",
        why="FTP sends credentials and files unencrypted",
    ),
    Signal(
        id="minimum-tls",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        # ...and the protocols a CDN may speak to a custom origin (AWS Security Hub CloudFront.10).
        names=_words(
            "minimumProtocolVersion", "minimumTlsVersion", "minTlsVersion", "tlsVersion", "originSslProtocols"
        ),
        schema=("string",),
        insecure=r"sslv3|tlsv1|tlsv1\.[01]|tlsv1_2016|tlsv1\.1_2016|tls_?1[._]?[01]|tls1[01]|1\.[01]",
        why="it accepts TLS versions older than 1.2",
    ),
    Signal(
        id="tls-policy",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        names="sslPolicy",
        schema=("string",),
        # ELB policies that allow only TLS 1.2 and later: ELBSecurityPolicy-TLS13-1-2-*, -TLS-1-2-*, -FS-1-2-*, TLS 1.3 only.
        accepted=r"ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)[-A-Za-z0-9]*",
        exempt={"protocol": r"|HTTP|TCP|UDP|TCP_UDP|GENEVE"},
        why="the listener's security policy accepts TLS versions older than 1.2",
    ),
    Signal(
        id="tls-security-policy",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        names=_words("tlsSecurityPolicy", "securityPolicy", "securityPolicyName"),
        schema=("string",),
        insecure=r"Policy-Min-TLS-1-0-2019-07|TLS_1_0|TransferSecurityPolicy-2018-11",
        why="the security policy accepts TLS 1.0",
    ),
    Signal(
        id="plain-http-url",
        concern=IN_TRANSIT,
        kind=Kind.URL,
        # Where a service sends data: an HTTP endpoint, a webhook, a remote-write or token URL.
        # An API's integration (`uri`, `integrationUri`) or a GraphQL API's HTTP data source (`httpConfig.endpoint`)
        # forwards each request there.
        names=r"url|uri|integrationUri|endpoint|invocationEndpoint|endpointUrl|[a-z]+EndpointUrl|remoteWriteUrl|serverUrl|instanceUrl|hostUrl|tokenUrl|accountUrl",
        schema=("string",),
        why="data is sent there over plain HTTP",
        exclude=(
            r"aws:(lex|medialive|sagemaker)/.*",
            # Pages a web crawler starts from: public pages it reads, where nothing of the platform's is sent.
            r".*::.*seedUrls\[\]\.url",
            # An S3 grant's grantee URI names a group (`http://acs.amazonaws.com/groups/global/AllUsers`), not a destination.
            r".*::.*[Gg]rants\[\]\.(grantee\.)?uri",
            # A topic's subscription endpoint is judged by `sns-https-subscriptions`.
            r"aws:sns/topicSubscription:.*",
        ),
    ),
    # --- public exposure ---------------------------------------------------------------------------
    Signal(
        id="public-flag",
        concern=PUBLIC,
        kind=Kind.SWITCH,
        names=_words(
            "publiclyAccessible",
            "isPubliclyAccessible",
            "associatePublicIpAddress",
            "mapPublicIpOnLaunch",
            "assignPublicIp",
            "allowUnauthenticatedIdentities",
            "anonymousAuthEnabled",
            "enableDefaultInternetAccess",
            "enableInternetAccess",
            "publicConnectivity",
        ),
        schema=("boolean", "string"),
        secure=False,
        why="it is reachable from the internet",
    ),
    Signal(
        id="public-endpoint",
        concern=PUBLIC,
        kind=Kind.SWITCH,
        names="endpointPublicAccess",
        schema=("boolean",),
        secure=False,
        # A public endpoint that only the listed networks may reach is the documented hardening.
        # Every listed range must be narrower than the internet-wide ones (IPv4 /8 or wider, IPv6 /16 or wider;
        # the sources of a public endpoint are public addresses):
        # 0.0.0.0/1 with 128.0.0.0/1 opens it as widely as 0.0.0.0/0.
        exempt={"publicAccessCidrs[]": narrower_than_the_world},
        why="the API endpoint is open to the whole internet (publicAccessCidrs is unset or 0.0.0.0/0)",
    ),
    Signal(
        id="public-network-access",
        concern=PUBLIC,
        kind=Kind.CHOICE,
        names=_words("type", "endpointType"),
        within=_words("publicAccess", ""),
        types=r"aws:(msk|transfer)/.*",
        schema=("string",),
        insecure=r"service_provided_eips|public",
        why="it has an endpoint on the internet",
    ),
    Signal(
        id="public-access-block",
        concern=PUBLIC_DATA,
        kind=Kind.SWITCH,
        # S3 account and access point blocks: each flag left off lets public ACLs or policies open the data.
        names=_words("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
        schema=("boolean",),
        secure=True,
        waivable=False,
        why="this public access block lets public access to the data through",
    ),
    Signal(
        id="public-security-group-block",
        concern=PUBLIC,
        kind=Kind.SWITCH,
        # EMR's account block: left off, clusters may open ports to the world.
        names="blockPublicSecurityGroupRules",
        schema=("boolean",),
        secure=True,
        why="this public access block lets clusters open ports to the whole internet",
    ),
    Signal(
        id="no-password",
        concern=PUBLIC,
        kind=Kind.SWITCH,
        names="noPasswordRequired",
        schema=("boolean",),
        secure=False,
        absent=Absent.IGNORE,
        why="anyone who reaches the cache connects without a password",
    ),
    Signal(
        id="shared-outside-organization",
        concern=PUBLIC,
        kind=Kind.SWITCH,
        names="allowExternalPrincipals",
        schema=("boolean",),
        secure=False,
        absent=Absent.IGNORE,
        why="it can be shared with accounts outside your organization",
    ),
    Signal(
        id="outside-vpc",
        concern=PUBLIC,
        kind=Kind.BLOCK,
        # A search domain or pipeline without VPC options gets an endpoint on the internet.
        names="vpcOptions",
        within="",
        types=r"aws:(opensearch|elasticsearch|opensearchingest)/[a-z]+:(Domain|Pipeline)",
        schema=("object",),
        absent=Absent.INSECURE,
        why="without vpcOptions its endpoint is on the internet, guarded only by its access policy",
    ),
    Signal(
        id="public-web-server",
        concern=PUBLIC,
        kind=Kind.CHOICE,
        names="webserverAccessMode",
        schema=("string",),
        insecure="public_only",
        why="its web server is reachable from the internet",
    ),
    Signal(
        id="node-ssh-open",
        concern=PUBLIC,
        kind=Kind.CHOICE,
        # Remote access without source security groups opens SSH to the nodes from 0.0.0.0/0.
        names="sourceSecurityGroupIds",
        within="remoteAccess",
        schema=("string",),
        accepted=".+",
        absent=Absent.INSECURE,
        needs_parent=True,
        why="SSH to the nodes is open to the whole internet; name the security groups that may connect",
    ),
    Signal(
        id="unauthenticated-entry-point",
        concern=PUBLIC,
        kind=Kind.CHOICE,
        names=_words("authorization", "authorizationType", "authType"),
        # Entry points: APIs, function URLs, and VPC Lattice services and service networks.
        types=r"aws:(apigateway|apigatewayv2|lambda|vpclattice)/.*",
        schema=("string",),
        insecure="none",
        # CORS preflight requests carry no credentials; an API key is a (weak) caller check.
        exempt={"httpMethod": "OPTIONS", "routeKey": r"OPTIONS\s.*", "apiKeyRequired": "true"},
        why="anyone on the internet can call it without authenticating",
    ),
    Signal(
        id="wildcard-principal",
        concern=PUBLIC,
        kind=Kind.CHOICE,
        # The principal a permission outside any policy document grants to: a function's or layer's,
        # an event bus's, or the accounts an endpoint service accepts connections from.
        names=_words("principal", "principals", "allowedPrincipals", "principalArn"),
        within="",
        schema=("string",),
        insecure=r"\*",
        exempt={
            "condition": ANY_VALUE,
            "sourceArn": ANY_VALUE,
            "sourceAccount": ANY_VALUE,
            "principalOrgId": ANY_VALUE,
            "organizationId": ANY_VALUE,
        },
        why="any AWS account may invoke or use it",
    ),
    Signal(
        id="world-open-ingress",
        concern=PUBLIC,
        kind=Kind.CIDRS,
        names=r"cidrBlocks?|ipv6CidrBlocks?|cidrIpv4|cidrIpv6|cidrIp|cidrs|ipRanges?|sourceRanges?|allowedCidrBlocks",
        path=r"(?i)ingress|inbound",
        schema=("string",),
        exempt={"action": "deny", "ruleAction": "deny"},
        why="anyone on the internet can connect",
    ),
    Signal(
        id="world-open-ingress-rule",
        concern=PUBLIC,
        kind=Kind.CIDRS,
        # Ingress rules declared on their own, and the public ports an instance opens (Lightsail's
        # `portInfos[].cidrs`), each with its ports beside its ranges.
        names=r"cidrBlocks?|ipv6CidrBlocks?|cidrIpv4|cidrIpv6|cidrIp|cidrs|ipv6Cidrs",
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*(Ingress|PublicPorts?)[A-Za-z0-9]*",
        schema=("string",),
        why="anyone on the internet can connect",
    ),
    Signal(
        id="world-open-acl-rule",
        concern=PUBLIC,
        kind=Kind.CIDRS,
        # A network ACL's rules declared on their own, as the ACL's inline `ingress` is judged above.
        names=_words("cidrBlock", "ipv6CidrBlock"),
        within="",
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*AclRule",
        schema=("string",),
        exempt={"egress": "true", "ruleAction": "deny"},
        why="anyone on the internet can connect",
    ),
    Signal(
        id="shared-with-everyone",
        concern=PUBLIC_DATA,
        kind=Kind.CHOICE,
        names=_words("sharedAccounts", "group"),
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*(Snapshot|LaunchPermission)[A-Za-z0-9]*",
        schema=("string",),
        insecure="all",
        absent=Absent.IGNORE,
        waivable=False,
        why="every AWS account can copy it",
    ),
    Signal(
        id="shared-with-all-accounts",
        concern=PUBLIC_DATA,
        kind=Kind.CHOICE,
        # A document's sharing permissions, a map (`{"type": "Share", "accountIds": "All"}`): the account
        # list `All` shares it with every account.
        names="permissions",
        path=r"\{\}$",
        schema=("string",),
        insecure="all",
        absent=Absent.IGNORE,
        waivable=False,
        why="every AWS account can read and run it",
    ),
    Signal(
        id="launch-permission-for-everyone",
        concern=PUBLIC_DATA,
        kind=Kind.CHOICE,
        # An image distribution's launch permission: the group `all` makes the image public.
        names="userGroups",
        within="launchPermission",
        schema=("string",),
        insecure="all",
        absent=Absent.IGNORE,
        waivable=False,
        why="every AWS account can launch (and copy) the image",
    ),
    # --- audit and access logging ------------------------------------------------------------------
    Signal(
        id="logging-block",
        concern=LOGGING,
        kind=Kind.BLOCK,
        names=LOG_BLOCKS,
        within="",
        schema=("object", "string"),
        absent=Absent.INSECURE,
        why="no access or audit log is kept",
        exclude=NOT_AUDIT_LOGS,
    ),
    Signal(
        id="logging-enabled",
        concern=LOGGING,
        kind=Kind.SWITCH,
        names=_words("enabled", "loggingEnabled", "isLoggingEnabled", "logEnabled"),
        # ...and log option blocks: a Client VPN endpoint's `connectionLogOptions`, a VPN tunnel's
        # `cloudwatchLogOptions`.
        within=r"(?i)(access|audit|flow)?logs?|logging|accesslogs?|[a-z]*(accesslog|auditlog)[a-z]*|[a-z]*log(ging)?options",
        schema=("boolean",),
        secure=True,
        absent=Absent.DEFAULT_OR_INSECURE,
        needs_parent=True,
        why="the log is switched off",
        exclude=(
            # A delivery stream's delivery-error diagnostics, not an access or audit log.
            r"aws:kinesis/firehoseDeliveryStream:.*",
        ),
    ),
    Signal(
        id="logging-switches",
        concern=LOGGING,
        kind=Kind.SWITCHES,
        # A log block whose destinations or log kinds each have a switch: MSK's broker logs to CloudWatch,
        # Firehose and S3; MQ's general and audit logs. Off everywhere, nothing is logged.
        names=LOG_BLOCKS,
        within="",
        schema=("object",),
        absent=Absent.IGNORE,
        why="no access or audit log is kept",
        exclude=NOT_AUDIT_LOGS,
    ),
    Signal(
        id="logging-flag",
        concern=LOGGING,
        kind=Kind.SWITCH,
        names=_words("flowLogsEnabled", "enableLogFileValidation", "enableLogging"),
        schema=("boolean",),
        secure=True,
        why="the log is switched off (or not validated)",
    ),
    Signal(
        id="logging-level",
        concern=LOGGING,
        kind=Kind.CHOICE,
        names=_words("level", "loggingLevel"),
        # `loggingConfiguration`, an EventBridge pipe's `logConfiguration`, an event bus's `logConfig`.
        within=r"(?i)[a-z]*log(ging)?[a-z]*|settings",
        schema=("string",),
        insecure="off",
        absent=Absent.INSECURE,
        needs_parent=True,
        why="execution logging is off",
    ),
    Signal(
        id="log-level-off",
        concern=LOGGING,
        kind=Kind.CHOICE,
        # A service's own log level (`defaultLogLevel` of IoT's logging options, a DataSync task's
        # `options.logLevel`, AppSync's `fieldLogLevel`, FSx's audit log levels): NONE, OFF or DISABLED
        # keep nothing, whatever the destination.
        names=r"logLevel|[a-z][A-Za-z0-9]*(LogLevel|LoggingLevel)",
        schema=("string",),
        insecure=r"none|off|disabled",
        why="the log is switched off",
    ),
    Signal(
        id="logs-disabled",
        concern=LOGGING,
        kind=Kind.SWITCH,
        # IoT's `disableAllLogs`.
        names=r"disable[A-Z][A-Za-z0-9]*Logs?|disableLogging",
        schema=("boolean",),
        secure=False,
        absent=Absent.IGNORE,
        why="the log is switched off",
    ),
    Signal(
        id="log-data-delivery",
        concern=LOGGING,
        kind=Kind.SWITCH,
        # What a log records, a switch per kind of data: Bedrock's model invocation log leaves out the
        # prompts and responses whose `textDataDeliveryEnabled` is false.
        names=r"[a-z][A-Za-z0-9]*DeliveryEnabled",
        within=LOG_BLOCKS,
        schema=("boolean",),
        secure=True,
        why="the log leaves that data out, so what was asked and answered cannot be audited",
    ),
    # --- data durability ---------------------------------------------------------------------------
    Signal(
        id="deletion-protection",
        concern=DURABILITY,
        kind=Kind.SWITCH,
        names=_words("deletionProtection", "deletionProtectionEnabled", "enableDeletionProtection"),
        within="",
        schema=("boolean",),
        secure=True,
        absent=Absent.DEFAULT_OR_INSECURE,
        only_stateful=True,
        why="one API call (or a mistaken `pulumi destroy`) deletes it and its data",
    ),
    Signal(
        id="deletion-protection-state",
        concern=DURABILITY,
        kind=Kind.CHOICE,
        # Deletion protection as a state rather than a switch (a Cognito user pool's `INACTIVE` by default,
        # a Verified Permissions policy store's `DISABLED`): the services that spell it so hold identities
        # and authorization policies, data whatever the encryption and backup inputs say.
        names=_words("deletionProtection", "deletionProtectionStatus"),
        schema=("string",),
        insecure=r"inactive|disabled",
        why="one API call (or a mistaken `pulumi destroy`) deletes it and its data",
    ),
    Signal(
        id="final-snapshot",
        concern=DURABILITY,
        kind=Kind.SWITCH,
        names=_words("skipFinalSnapshot", "skipFinalBackup"),
        schema=("boolean",),
        secure=False,
        exempt=READ_REPLICA,
        why="deleting it leaves no final snapshot to restore from",
    ),
    Signal(
        id="backup-retention",
        concern=DURABILITY,
        kind=Kind.MINIMUM,
        names=_words(
            "backupRetentionPeriod",
            "snapshotRetentionLimit",
            "automatedSnapshotRetentionPeriod",
            "automaticBackupRetentionDays",
            "backupRetentionPeriodInDays",
        ),
        schema=("number",),
        absent=Absent.DEFAULT_OR_INSECURE,
        # Read replicas and nodes of a replication group take their backups from the source; Memcached has none.
        exempt={**READ_REPLICA, "replicationGroupId": ANY_VALUE, "engine": "memcached"},
        why="automated backups",
    ),
    Signal(
        id="point-in-time-recovery",
        concern=DURABILITY,
        kind=Kind.SWITCH,
        names="enabled",
        within="pointInTimeRecovery",
        schema=("boolean",),
        secure=True,
        why="a bad write or delete cannot be rolled back",
    ),
    Signal(
        id="point-in-time-recovery-flag",
        concern=DURABILITY,
        kind=Kind.SWITCH,
        # The switch as a property of its own (a DynamoDB table replica's `pointInTimeRecovery`).
        names=r"pointInTimeRecovery(Enabled)?",
        schema=("boolean",),
        secure=True,
        why="a bad write or delete cannot be rolled back",
    ),
    Signal(
        id="point-in-time-recovery-status",
        concern=DURABILITY,
        kind=Kind.CHOICE,
        # The switch as a status (Keyspaces' `pointInTimeRecovery.status`, `DISABLED` by default).
        names="status",
        within="pointInTimeRecovery",
        schema=("string",),
        insecure="disabled",
        why="a bad write or delete cannot be rolled back",
    ),
    Signal(
        id="force-delete",
        concern=DURABILITY,
        kind=Kind.SWITCH,
        names=_words("forceDestroy", "forceDelete"),
        within="",
        schema=("boolean",),
        secure=False,
        absent=Absent.IGNORE,
        only_stateful=True,
        why="deleting it also deletes everything it holds",
        exclude=(
            # Deletes a service that still runs tasks; it holds no data.
            r"aws:ecs/.*",
        ),
    ),
    # --- instance metadata -------------------------------------------------------------------------
    Signal(
        id="imds-v2",
        concern=METADATA,
        kind=Kind.CHOICE,
        names="httpTokens",
        schema=("string",),
        accepted="required",
        absent=Absent.INSECURE,
        exclude=(
            # Account-level defaults: leaving the setting out keeps the account's choice.
            r"aws:ec2/instanceMetadataDefaults:.*",
        ),
        why="IMDSv1 answers unauthenticated requests, so an SSRF bug leaks the instance role's credentials",
    ),
    Signal(
        id="imds-v2-minimum",
        concern=METADATA,
        kind=Kind.CHOICE,
        names="minimumInstanceMetadataServiceVersion",
        schema=("string",),
        accepted="2",
        absent=Absent.INSECURE,
        why="IMDSv1 answers unauthenticated requests, so an SSRF bug leaks the instance role's credentials",
    ),
    # --- settings held by key: string maps and JSON documents in strings ---------------------------
    Signal(
        id="setting-at-rest",
        concern=AT_REST,
        kind=Kind.SWITCH,
        # `EnableAtRestEncryption`, `EnableEbsEncryption`, `spark.io.encryption.enabled`.
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        secure=True,
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_AT_REST_ON),
        why="the data is stored unencrypted",
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-at-rest-off",
        concern=AT_REST,
        kind=Kind.SWITCH,
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        secure=False,
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_AT_REST_OFF),
        why="the data is stored unencrypted",
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-at-rest-mode",
        concern=AT_REST,
        kind=Kind.CHOICE,
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        insecure=r"none|disabled|no_encryption|off",
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_ENCRYPTION_MODE),
        why="the data is stored unencrypted",
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-customer-key-mode",
        concern=CUSTOMER_KEY,
        kind=Kind.CHOICE,
        # An EMR security configuration's `S3EncryptionConfiguration.EncryptionMode`, a Glue job's `--encryption-type`.
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        insecure=r"aes_?256|sse[-_]s3|aws_owned_kms_key|aws_owned_cmk",
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_ENCRYPTION_MODE),
        why="the data is encrypted with a key AWS owns, not a customer managed KMS key",
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-customer-key",
        concern=CUSTOMER_KEY,
        kind=Kind.KEY,
        # `AwsKmsKey`, `KmsKeyId`, `kms_key_arn`: judged when set.
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_KEY),
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-in-transit",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        # `JDBC_ENFORCE_SSL`, `KAFKA_SSL_ENABLED`, `EnableInTransitEncryption`, `spark.ssl.enabled`, `tls.verify`.
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        secure=True,
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_TRANSIT_ON),
        why="traffic crosses the network unencrypted",
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-in-transit-off",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        # `KAFKA_SKIP_CUSTOM_CERT_VALIDATION`, `SKIP_CUSTOM_JDBC_CERT_VALIDATION`, `insecure_skip_verify`.
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        secure=False,
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_TRANSIT_OFF),
        why="TLS is switched off or its certificate is not verified",
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-in-transit-mode",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        # A Kafka client's `security.protocol`, a PostgreSQL client's `sslmode`.
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        insecure=r"plaintext|sasl_plaintext|sasl-plaintext|disable|disabled|allow|prefer|preferred|none|off",
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_TRANSIT_MODE),
        why="clients may connect without TLS",
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-logging",
        concern=LOGGING,
        kind=Kind.SWITCH,
        # A DMS task's `Logging.EnableLogging`, a landing zone manifest's `centralizedLogging.enabled`.
        names=SETTINGS_HOLDERS,
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        secure=True,
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_LOGGING_ON),
        why="the log is switched off",
        exclude=SETTINGS_NOT_HELD,
    ),
    # Security policies that are JSON documents of settings rather than IAM grants (an OpenSearch
    # Serverless network or encryption policy): keys no IAM document has, so any `policy` may hold them.
    Signal(
        id="setting-public",
        concern=PUBLIC,
        kind=Kind.SWITCH,
        # `AllowFromPublic`, `PubliclyAccessible`, `PublicAccessEnabled`.
        names=rf"{SETTINGS_HOLDERS}|policy",
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        secure=False,
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_PUBLIC),
        why="it is reachable from the internet",
        exclude=SETTINGS_NOT_HELD,
    ),
    Signal(
        id="setting-aws-owned-key",
        concern=CUSTOMER_KEY,
        kind=Kind.SWITCH,
        # `AWSOwnedKey: true`: encrypted with a key AWS owns, which no key policy of yours governs.
        names=rf"{SETTINGS_HOLDERS}|policy",
        schema=("string",),
        path=SETTINGS_HOLDER_PATH,
        secure=False,
        absent=Absent.IGNORE,
        settings=Settings(keys=SETTING_AWS_OWNED_KEY),
        why="the data is encrypted with a key AWS owns, not a customer managed KMS key",
        exclude=SETTINGS_NOT_HELD,
    ),
    # Option settings given as a list of {namespace, name, value} blocks (Elastic Beanstalk).
    Signal(
        id="option-setting-imds-v1",
        concern=METADATA,
        kind=Kind.SWITCH,
        # `aws:autoscaling:launchconfiguration` `DisableIMDSv1`.
        names=_words("settings", "optionSettings"),
        schema=("object",),
        path=r"\[\]$",
        secure=True,
        absent=Absent.IGNORE,
        settings=Settings(keys=r"(.+_)?disable_imd_?s_?v1", pairs=True),
        why="IMDSv1 answers unauthenticated requests, so an SSRF bug leaks the instance role's credentials",
    ),
    Signal(
        id="option-setting-public-ip",
        concern=PUBLIC,
        kind=Kind.SWITCH,
        # `aws:ec2:vpc` `AssociatePublicIpAddress`.
        names=_words("settings", "optionSettings"),
        schema=("object",),
        path=r"\[\]$",
        secure=False,
        absent=Absent.IGNORE,
        settings=Settings(keys=r"(.+_)?associate_public_ip_address", pairs=True),
        why="its instances are reachable from the internet",
    ),
    Signal(
        id="attribute-old-protocol",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        # A Classic Load Balancer's SSL negotiation policy, given as `{name, value}` attributes:
        # `Protocol-SSLv3`, `Protocol-TLSv1` or `Protocol-TLSv1.1` true accepts a broken protocol.
        names=_words("policyAttributes", "attributes"),
        schema=("object",),
        path=r"\[\]$",
        secure=False,
        absent=Absent.IGNORE,
        settings=Settings(keys=r"protocol_(ss_?lv[23]|tl_?sv1(_1)?)", pairs=True),
        why="clients may connect with a protocol version that is no longer safe",
        # A table's attribute definitions (a name and a type) hold no settings.
        exclude=(r"aws:dynamodb/.*",),
    ),
    Signal(
        id="option-setting-logging",
        concern=LOGGING,
        kind=Kind.SWITCH,
        # `aws:elasticbeanstalk:cloudwatch:logs` `StreamLogs` (AWS Security Hub ElasticBeanstalk.3).
        names=_words("settings", "optionSettings"),
        schema=("object",),
        path=r"\[\]$",
        secure=True,
        absent=Absent.IGNORE,
        settings=Settings(keys=r"(.+_)?stream_logs", pairs=True),
        why="the log is switched off",
    ),
    # Keys whose absence is the finding, as each service documents it.
    Signal(
        id="glue-jdbc-enforce-ssl",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        names="connectionProperties",
        within="",
        types=r"aws:glue/connection:Connection",
        schema=("string",),
        secure=True,
        # "JDBC_ENFORCE_SSL ... The default is false" (Glue's ConnectionProperties); a connection is JDBC
        # unless its `connectionType` says otherwise.
        settings=Settings(required="JDBC_ENFORCE_SSL", default="false"),
        exempt={"/connectionType": r"(?!jdbc$).+"},
        why="traffic crosses the network unencrypted",
    ),
    Signal(
        id="emr-security-configuration-at-rest",
        concern=AT_REST,
        kind=Kind.SWITCH,
        names="configuration",
        within="",
        types=r"aws:emr/securityConfiguration:SecurityConfiguration",
        schema=("string",),
        secure=True,
        # Without `EncryptionConfiguration`, clusters that name the configuration encrypt nothing.
        settings=Settings(required="EncryptionConfiguration.EnableAtRestEncryption"),
        absent=Absent.INSECURE,
        why="the data is stored unencrypted",
    ),
    Signal(
        id="emr-security-configuration-in-transit",
        concern=IN_TRANSIT,
        kind=Kind.SWITCH,
        names="configuration",
        within="",
        types=r"aws:emr/securityConfiguration:SecurityConfiguration",
        schema=("string",),
        secure=True,
        settings=Settings(required="EncryptionConfiguration.EnableInTransitEncryption"),
        absent=Absent.INSECURE,
        why="traffic crosses the network unencrypted",
    ),
    Signal(
        id="dms-task-logging",
        concern=LOGGING,
        kind=Kind.SWITCH,
        names=_words("replicationTaskSettings", "replicationSettings"),
        within="",
        types=r"aws:dms/(replicationTask:ReplicationTask|replicationConfig:ReplicationConfig)",
        schema=("string",),
        secure=True,
        # A task logs to CloudWatch only when its settings say so (AWS Security Hub DMS.7, DMS.8).
        settings=Settings(required="Logging.EnableLogging"),
        absent=Absent.INSECURE,
        why="the log is switched off",
    ),
    # --- the account's detective controls ----------------------------------------------------------
    Signal(
        id="detective-control-off",
        concern=LOGGING,
        kind=Kind.SWITCH,
        # The services that watch an account (AWS Config, GuardDuty, Macie, Security Hub, Inspector,
        # Detective) switched off at their top-level switch: a recorder stopped, a detector disabled.
        names=_words("isEnabled", "enable", "enabled"),
        within="",
        types=r"aws:(cfg|guardduty|macie2|securityhub|inspector2|detective)/.*",
        schema=("boolean",),
        secure=True,
        absent=Absent.IGNORE,
        why="the account's monitoring is switched off",
    ),
    Signal(
        id="detective-control-status",
        concern=LOGGING,
        kind=Kind.CHOICE,
        # A GuardDuty protection plan's or Macie account's `status`, a Security Hub control's `controlStatus`.
        names=_words("status", "controlStatus"),
        within="",
        types=r"aws:(cfg|guardduty|macie2|securityhub|inspector2|detective)/.*",
        schema=("string",),
        insecure=r"disabled|paused",
        absent=Absent.IGNORE,
        why="the account's monitoring is switched off",
    ),
    # --- readers of their own --------------------------------------------------------------------
    Signal(
        id="policy-document",
        concern=IAM_DOCUMENTS,
        kind=Kind.DOCUMENT,
        # The names resource and identity policies go by; the pack reads only values that are JSON documents.
        names=r"polic(y|ies)|policyDocument|policyText|[a-z]+PolicyDocument|(access|resource|inline|session|permission|repository|webAppEndpoint|deliveryDestination|bucket|queue|topic|vault|key|endpoint)Polic(y|ies)",
        # A JSON string, or an object where the SDK types the input as a policy document
        # (`aws.iam.PolicyDocument`: a search domain's `accessPolicies`, a log resource policy's `policyDocument`).
        schema=("string", "any", "object"),
        # Documents that only narrow what a role grants: session (scope-down) policies, whose effective
        # permissions are the intersection with the role's, permissions boundaries, and endpoint policies,
        # which filter traffic already inside a network. An `Allow *` in them grants nothing.
        unless_described=r"(?i)session polic|scopes? down|additional restrictions|permissions boundar|endpoint polic",
        exclude=(
            # Service control policies are guardrails, not grants.
            r"aws:organizations/.*",
            # Roles' assume-role (trust) documents are judged by the trust rules.
            r"aws:iam/role:Role::.*",
            # Endpoint policies filter traffic that already comes from inside the VPC: `*` is their usual principal.
            r"aws:ec2/vpcEndpoint(Policy)?:.*",
        ),
    ),
    Signal(
        id="environment-variables",
        concern=ENVIRONMENT,
        kind=Kind.VARIABLES,
        names=_words(
            "variables",
            "environment",
            "environmentVariables",
            "runtimeEnvironmentVariables",
            "connectionProperties",
            # A Glue job's arguments (`--db-password`) reach its script as its environment does.
            "defaultArguments",
            "nonOverridableArguments",
        ),
        schema=("string", "object"),
        path=r"(\{\}|\[\])$",
    ),
    Signal(
        id="container-definitions",
        concern=CONTAINERS,
        kind=Kind.CONTAINER_JSON,
        # A task's containers, a job's container, a multi-node job's node ranges, an ECS job's task properties.
        names=_words("containerDefinitions", "containerProperties", "nodeProperties", "ecsProperties"),
        within="",
        schema=("string", "object"),
    ),
    Signal(
        id="pod-properties",
        concern=PODS,
        kind=Kind.POD,
        # The Kubernetes pod of a Batch job on EKS, judged by the pod rules.
        names=_words("podProperties", "podSpec"),
        schema=("object",),
    ),
    Signal(
        id="pod-host-namespace",
        concern=PODS,
        kind=Kind.SWITCH,
        # Its documented default matters: a Batch job's pod uses the host's network unless told otherwise.
        names=_words("hostNetwork", "hostPID", "hostIPC"),
        within=_words("podProperties", "podSpec"),
        schema=("boolean",),
        secure=False,
        why="the pod shares the node's namespaces",
    ),
)

BY_ID: Mapping[str, Signal] = MappingProxyType({signal.id: signal for signal in SIGNALS})
