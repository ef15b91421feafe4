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
        ),
        schema=("string",),
        insecure=r"plaintext|tls_plaintext|disabled|preferred|none",
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
        # Server's `rds.force_ssl`, MySQL's `require_secure_transport`, DocumentDB's `tls`, Redshift's
        # `require_ssl`, however the value is spelt (0, OFF, false, disabled).
        names="value",
        within="parameters",
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*ParameterGroup",
        schema=("string",),
        insecure=r"0|off|false|disabled",
        absent=Absent.IGNORE,
        exempt={"name": r"(?!(rds\.force_ssl|require_secure_transport|tls|require_ssl)$).*"},
        why="the engine accepts connections without TLS",
    ),
    Signal(
        id="origin-protocol",
        concern=IN_TRANSIT,
        kind=Kind.CHOICE,
        # What a CDN speaks to a custom origin: `http-only` carries every request unencrypted behind the
        # HTTPS edge (AWS Security Hub CloudFront.9).
        names="originProtocolPolicy",
        within="customOriginConfig",
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
        names=_words("minimumProtocolVersion", "minimumTlsVersion", "minTlsVersion", "tlsVersion"),
        schema=("string",),
        insecure=r"sslv3|tlsv1|tlsv1_2016|tlsv1\.1_2016|tls_?1[._]?[01]|tls1[01]|1\.[01]",
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
        names=r"url|invocationEndpoint|endpointUrl|[a-z]+EndpointUrl|remoteWriteUrl|serverUrl|instanceUrl|hostUrl|tokenUrl|accountUrl",
        schema=("string",),
        why="data is sent there over plain HTTP",
        exclude=(
            r"aws:(lex|medialive|sagemaker)/.*",
            # Pages a web crawler starts from: public pages it reads, where nothing of the platform's is sent.
            r".*::.*seedUrls\[\]\.url",
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
        types=r"aws:(apigateway|apigatewayv2|lambda)/.*",
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
        names="principal",
        within="",
        types=r"aws:lambda/.*",
        schema=("string",),
        insecure=r"\*",
        exempt={
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
        names=r"cidrBlocks?|ipv6CidrBlocks?|cidrIpv4|cidrIpv6|cidrIp",
        types=r"aws:[a-z0-9]+/[A-Za-z0-9]*:[A-Za-z0-9]*Ingress[A-Za-z0-9]*",
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
        within=r"(?i)(access|audit|flow)?logs?|logging|accesslogs?|[a-z]*(accesslog|auditlog)[a-z]*",
        schema=("boolean",),
        secure=True,
        absent=Absent.DEFAULT_OR_INSECURE,
        needs_parent=True,
        why="the log is switched off",
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
        within=r"(?i)[a-z]*logging[a-z]*|settings",
        schema=("string",),
        insecure="off",
        absent=Absent.INSECURE,
        needs_parent=True,
        why="execution logging is off",
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
    # --- readers of their own --------------------------------------------------------------------
    Signal(
        id="policy-document",
        concern=IAM_DOCUMENTS,
        kind=Kind.DOCUMENT,
        # The names resource and identity policies go by; the pack reads only values that are JSON documents.
        names=r"polic(y|ies)|policyDocument|policyText|[a-z]+PolicyDocument|(access|resource|inline|session|permission|repository|webAppEndpoint|deliveryDestination|bucket|queue|topic|vault|key|endpoint)Polic(y|ies)",
        schema=("string", "any"),
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
            "variables", "environment", "environmentVariables", "runtimeEnvironmentVariables", "connectionProperties"
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
