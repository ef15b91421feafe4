"""IAM and resource policies: no administrator grants, no broad managed policies, scoped trust, nothing public.

The document rules read the IAM and resource policy inputs they name, and every other input the
property index lists as document-shaped (`policy-document` signal: a search domain's access policy,
a vault's, a permission set's inline policy); a value there counts only if it is a JSON policy
document. Statements that name principals are judged as resource policies, the others as identity
policies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, Severity

from .actions import Grant, escalations, is_every_iam_resource, is_every_resource, shown
from .common import (
    ReachingPolicy,
    Report,
    Unknowns,
    applies_to,
    as_list,
    aws_config_url,
    concern_tag,
    config_schema,
    dig,
    for_types,
    rule,
    sources,
)
from .documents import Statement, checked_statements, document_statements
from .kms import KEY_POLICY_TYPES
from .properties import entries_of, resolve
from .property_map import IAM_DOCUMENTS
from .waivers import NON_WAIVABLE

ROLE = "aws:iam/role:Role"
# Identity policies and where each keeps its document.
IDENTITY_POLICY_PROPERTIES = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
# Managed policy attachments and the property holding the policy ARN(s).
ATTACHMENT_PROPERTIES = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": "policyArns",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": "policyArns",
    ROLE: "managedPolicyArns",
}
# Resource-based policies and where each keeps its document.
RESOURCE_POLICY_PROPERTIES = {
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:s3/bucket:Bucket": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": "resourcePolicy",
}
# Types whose documents the lists above (and the key policy rule) read by name; any other type's
# document-shaped inputs come from the property index (`policy-document` signal).
NAMED_DOCUMENT_TYPES = frozenset({*IDENTITY_POLICY_PROPERTIES, ROLE, *RESOURCE_POLICY_PROPERTIES, *KEY_POLICY_TYPES})
# The input names that attach AWS managed policies by ARN, on any type.
MANAGED_POLICY_PROPERTY = re.compile(r"(managedPolicy|policy)Arns?")
BROAD_MANAGED_POLICIES = ["AdministratorAccess", "IAMFullAccess", "AmazonSageMakerFullAccess"]
SOURCE_CONDITION_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"})
COGNITO_IDENTITY = "cognito-identity.amazonaws.com"


def identity_documents(args: ResourceValidationArgs | PolicyResource) -> Iterator[tuple[str, Any]]:
    """(path, document) for each identity policy document a resource carries (analyzed alone, or in a stack)."""
    prop = IDENTITY_POLICY_PROPERTIES.get(args.resource_type)
    if prop is not None:
        yield prop, args.props.get(prop)
    if args.resource_type == ROLE:
        for index, inline in enumerate(as_list(args.props.get("inlinePolicies"))):
            if dig(inline, "policy"):
                yield f"inlinePolicies[{index}] ({dig(inline, 'name') or '?'})", dig(inline, "policy")


def indexed_documents(args: ResourceValidationArgs, unknowns: Unknowns) -> list[tuple[str, list[Statement]]]:
    """(path, statements) of each policy document in the inputs of any other type: a search domain's
    `accessPolicies`, a vault's `accessPolicy`, an SSO permission set's `inlinePolicy`... (a document
    not known yet is left to `unknowns`)."""
    found_documents = []
    for entry in entries_of(IAM_DOCUMENTS, args.resource_type, NAMED_DOCUMENT_TYPES):
        with unknowns:
            for found in resolve(args.props, entry.steps):
                with unknowns:
                    statements = document_statements(found.known())
                    if statements:
                        found_documents.append((found.path, statements))
    return found_documents


def identity_statements(
    args: ResourceValidationArgs, report: Report, unknowns: Unknowns
) -> list[tuple[str, Statement]]:
    """(path, statement) for each statement that grants its holder permissions: those of identity
    policies, and those naming no principal in a document of any other type (an IoT policy, a permission
    set's inline policy; session policies, which only narrow a role, are not in the index). A document not
    known yet (preview) is left to `unknowns`; the others are judged."""
    found: list[tuple[str, Statement]] = []
    with unknowns:
        for path, document in identity_documents(args):
            with unknowns:
                found += [(path, statement) for statement in checked_statements(path, document, report)]
    for path, statements in indexed_documents(args, unknowns):
        found += [(path, statement) for statement in statements if not statement.names_principals]
    return found


def judges_documents(*named: str) -> Callable[[str], bool]:
    """The types a document rule reaches: those it names, and any type with a document-shaped input."""
    listed = frozenset(named)
    return lambda resource_type: (
        resource_type in listed or bool(entries_of(IAM_DOCUMENTS, resource_type, NAMED_DOCUMENT_TYPES))
    )


def _grants_admin(statement: Statement) -> str | None:
    """Why an Allow statement amounts to administrator access on everything, if it does."""
    if not statement.allows or not any(is_every_resource(resource) for resource in statement.resources):
        return None
    if statement.not_actions:
        return "allows every action except a few (NotAction) on Resource '*'"
    # Actions compare case-insensitively, so `S3:*` or `*:*` grant a whole service as `s3:*` does.
    broad = [action for action in statement.actions if Grant((action,), negated=False).whole_services()]
    return f"allows {', '.join(repr(action) for action in broad)} on Resource '*'" if broad else None


def _no_admin_statements(args: ResourceValidationArgs, report: Report) -> None:
    unknowns = Unknowns()
    for path, statement in identity_statements(args, report, unknowns):
        why = _grants_admin(statement)
        if why:
            report(f"{path} {statement.label} {why}.")
    unknowns.settle()


no_admin_statements = ReachingPolicy(
    judges_documents(*IDENTITY_POLICY_PROPERTIES, ROLE),
    name="iam-no-admin-statements",
    description="IAM policies, and policy documents in any resource's inputs, never allow all actions, or all actions of a service, on every resource.",
    validate=rule(_no_admin_statements),
    severity=Severity.CRITICAL,
    remediation_steps="List the actions the role needs and the ARNs it needs them on.",
    tags=[
        "iam",
        "least-privilege",
        *sources(
            "CKV_AWS_62",
            "CKV_AWS_63",
            "CKV_AWS_286",
            "CKV_AWS_287",
            "CKV_AWS_288",
            "CKV_AWS_289",
            "CKV_AWS_290",
            "CKV_AWS_355",
            "aws-config:iam-policy-no-statements-with-admin-access",
        ),
        concern_tag(IAM_DOCUMENTS),
        *applies_to(*IDENTITY_POLICY_PROPERTIES, ROLE),
    ],
    url=aws_config_url("iam-policy-no-statements-with-admin-access"),
)


def _no_broad_managed_policies(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in ATTACHMENT_PROPERTIES:
        props = [ATTACHMENT_PROPERTIES[args.resource_type]]
    elif args.resource_type.startswith("aws:"):
        # Any other type that attaches managed policies by ARN (an IAM Identity Center permission set's
        # `managedPolicyArn`, a type AWS adds later): its top-level `policyArn(s)`/`managedPolicyArn(s)`.
        props = [str(name) for name in args.props if MANAGED_POLICY_PROPERTY.fullmatch(str(name))]
    else:
        return
    denied = {str(name) for name in args.get_config().get("deniedPolicies", BROAD_MANAGED_POLICIES)}
    for prop in props:
        for arn in as_list(args.props.get(prop)):
            match = re.fullmatch(r"arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)", str(arn))
            if match and match.group(1) in denied:
                report(f"{prop} attaches the AWS managed policy {match.group(1)}.")


no_broad_managed_policies = ReachingPolicy(
    lambda resource_type: resource_type.startswith("aws:"),
    name="iam-no-broad-managed-policies",
    description="Roles, users and groups never get broad AWS managed policies such as AdministratorAccess, IAMFullAccess or AmazonSageMakerFullAccess.",
    validate=rule(_no_broad_managed_policies),
    severity=Severity.HIGH,
    remediation_steps="Replace the managed policy with an inline policy that lists the needed actions on the stack's own resources.",
    tags=["iam", "least-privilege", *sources("CKV_AWS_274", "CKV2_AWS_56"), *applies_to(*ATTACHMENT_PROPERTIES)],
    config_schema=config_schema(
        {
            "deniedPolicies": {
                "type": "array",
                "items": {"type": "string"},
                "default": BROAD_MANAGED_POLICIES,
                "description": "Names of AWS managed policies that must not be attached.",
            }
        }
    ),
)


@for_types(ROLE)
def _trust_scoped(args: ResourceValidationArgs, report: Report) -> None:
    exempt = {str(service) for service in args.get_config().get("servicesWithoutSourceConditions", [])}
    found = checked_statements("assumeRolePolicy", args.props.get("assumeRolePolicy"), report)
    for statement in (statement for statement in found if statement.allows):
        if statement.wildcard_principal_unrestricted:
            report(f"assumeRolePolicy {statement.label} lets any AWS principal assume the role.")
        services = [service for service in statement.principals.get("Service", ()) if service not in exempt]
        if services and not statement.condition_keys() & SOURCE_CONDITION_KEYS:
            report(
                f"assumeRolePolicy {statement.label} trusts {', '.join(services)} without an aws:SourceAccount or aws:SourceArn condition (confused deputy)."
            )
        for provider in statement.principals.get("Federated", ()):
            scope = _federation_scope(provider)
            if scope and not any(key.endswith(scope) for key in statement.condition_keys()):
                report(
                    f"assumeRolePolicy {statement.label} trusts {provider} without a '{scope}' condition: any identity of that provider can assume the role."
                )


def _federation_scope(provider: str) -> str | None:
    """The condition key (its suffix) that limits which identities of a federated provider may assume the role.

    A SAML provider needs none: the IdP's signed assertion names the roles each user may take. An
    Amazon Cognito identity pool is named by `cognito-identity.amazonaws.com:aud`; for any other
    OpenID Connect provider (EKS, GitHub) only `<issuer>:sub` tells its identities apart.
    """
    if ":saml-provider/" in provider:
        return None
    return ":aud" if provider == COGNITO_IDENTITY else ":sub"


trust_scoped = ResourceValidationPolicy(
    name="iam-trust-policy-scoped",
    description="Role trust policies name who may assume the role: service principals only on behalf of this account, OIDC identities only for one subject.",
    validate=_trust_scoped,
    severity=Severity.HIGH,
    remediation_steps="Add an aws:SourceAccount (or aws:SourceArn) condition for service principals and a '<issuer>:sub' condition for OIDC providers (cognito-identity.amazonaws.com:aud for a Cognito identity pool); never trust '*'.",
    tags=["iam", "confused-deputy", *sources("aws-iam:confused-deputy-prevention"), *applies_to(ROLE)],
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
    config_schema=config_schema(
        {
            "servicesWithoutSourceConditions": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Service principals that cannot be given source conditions in a trust policy.",
            }
        }
    ),
)


def _resource_statements(
    args: ResourceValidationArgs, report: Report, unknowns: Unknowns
) -> list[tuple[str, Statement]]:
    """(path, statement) for each statement of a resource-based policy: the named ones, and statements
    naming principals in a document of any other type."""
    found: list[tuple[str, Statement]] = []
    prop = RESOURCE_POLICY_PROPERTIES.get(args.resource_type)
    with unknowns:
        document = args.props.get(prop) if prop else None
        if prop and document:  # an inline `policy` is optional on buckets, topics, queues and secrets
            found += [(prop, statement) for statement in checked_statements(prop, document, report)]
    for path, statements in indexed_documents(args, unknowns):
        found += [(path, statement) for statement in statements if statement.names_principals]
    return found


def _resource_policy_not_public(args: ResourceValidationArgs, report: Report) -> None:
    unknowns = Unknowns()
    for path, statement in _resource_statements(args, report, unknowns):
        if statement.allows and statement.wildcard_principal_unrestricted:
            report(
                f"{path} {statement.label} allows {', '.join(statement.actions) or 'actions'} to any principal without an account, organisation or source condition."
            )
    unknowns.settle()


resource_policy_not_public = ReachingPolicy(
    judges_documents(*RESOURCE_POLICY_PROPERTIES),
    name="resource-policies-not-public",
    description="Resource policies (repositories, buckets, topics, queues, secrets, model package groups, and any policy document in a resource's inputs: search domains, file systems, event buses, vaults) never grant access to everyone.",
    validate=rule(_resource_policy_not_public),
    severity=Severity.CRITICAL,
    remediation_steps="Name the account principals (modelplane: registry.pull_account_ids, cross_account_principals), or add an aws:PrincipalOrgID condition.",
    tags=[
        "access",
        "public-exposure",
        NON_WAIVABLE,
        *sources("CKV_AWS_32", "CKV_AWS_70", "CKV_AWS_72"),
        concern_tag(IAM_DOCUMENTS),
        *applies_to(*RESOURCE_POLICY_PROPERTIES),
    ],
)


def _statement_scope(statement: Statement, broad: Callable[[str], bool]) -> str | None:
    """How an Allow statement reaches every resource `broad` accepts, if it does."""
    if statement.not_resources:
        return f"every resource but {', '.join(repr(item) for item in statement.not_resources)} (NotResource)"
    wide = [resource for resource in statement.resources if broad(resource)]
    return f"Resource {wide[0]!r}" if wide else None


def _named(found: list[str]) -> str:
    return ", ".join(found) if len(found) <= 4 else f"{', '.join(found[:3])} and {len(found) - 3} more"


def _no_privilege_escalation(args: ResourceValidationArgs, report: Report) -> None:
    unknowns = Unknowns()
    for path, statement in identity_statements(args, report, unknowns):
        if not statement.allows:
            continue
        scope = _statement_scope(statement, is_every_iam_resource)
        granted = escalations(Grant.of(statement.actions, statement.not_actions)) if scope else []
        if granted:
            actions = [shown(how, action) if how != "NotAction" else action for action, how in granted]
            report(
                f"{path} {statement.label} allows {_named(actions)} on {scope}: whoever holds it can raise"
                " their own privileges (pass an admin role to a service, rewrite or attach policies, mint credentials)."
            )
    unknowns.settle()


no_privilege_escalation = ReachingPolicy(
    judges_documents(*IDENTITY_POLICY_PROPERTIES, ROLE),
    name="iam-no-privilege-escalation",
    description="IAM policies never allow privilege-escalation actions (iam:PassRole, policy rewrites and attachments, credential creation) on every role, user or policy; actions compare case-insensitively and wildcards expand over AWS's action catalogue.",
    validate=rule(_no_privilege_escalation),
    severity=Severity.CRITICAL,
    remediation_steps="Name the roles iam:PassRole may pass (their ARNs, with an iam:PassedToService condition) and drop the other escalation actions, or scope them to the few principals an automation must manage.",
    tags=[
        "iam",
        "privilege-escalation",
        *sources("CKV_AWS_286", "CKV_AWS_287", "CKV_AWS_289", "CKV_AWS_355"),
        concern_tag(IAM_DOCUMENTS),
        *applies_to(*IDENTITY_POLICY_PROPERTIES, ROLE),
    ],
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
)


def _no_negated_grants(args: ResourceValidationArgs, report: Report) -> None:
    unknowns = Unknowns()
    for path, statement in identity_statements(args, report, unknowns):
        if not statement.allows:
            continue
        if statement.not_actions:
            report(
                f"{path} {statement.label} allows every action except {', '.join(repr(item) for item in statement.not_actions)}"
                " (NotAction): every action AWS adds later is granted too."
            )
        if statement.not_resources:
            report(
                f"{path} {statement.label} allows {', '.join(repr(item) for item in statement.actions) or 'its actions'}"
                f" on every resource except {', '.join(repr(item) for item in statement.not_resources)} (NotResource)."
            )
    unknowns.settle()


no_negated_grants = ReachingPolicy(
    judges_documents(*IDENTITY_POLICY_PROPERTIES, ROLE),
    name="iam-no-allow-with-not-action",
    description="IAM Allow statements list the actions and resources they grant, never everything but a NotAction or NotResource list.",
    validate=rule(_no_negated_grants),
    severity=Severity.HIGH,
    remediation_steps="Replace NotAction/NotResource in Allow statements with the actions and ARNs needed; keep NotAction for Deny statements.",
    tags=[
        "iam",
        "least-privilege",
        *sources("CKV_AWS_289", "CKV_AWS_355"),
        concern_tag(IAM_DOCUMENTS),
        *applies_to(*IDENTITY_POLICY_PROPERTIES, ROLE),
    ],
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html",
)

# A principal of one account: its id, an ARN in it, or an assumed-role session of it.
ACCOUNT_PRINCIPAL = re.compile(r"^(?:(\d{12})|arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):.+)$")
CROSS_ACCOUNT_CONDITION_KEYS = frozenset({"sts:externalid", "aws:principalorgid", "aws:principalorgpaths"})


def own_accounts(args: ResourceValidationArgs) -> set[str]:
    """Accounts trusted without conditions: the configured ones and the provider's allowedAccountIds."""
    listed = [str(account) for account in as_list(args.get_config().get("trustedAccountIds"))]
    if args.provider is not None:
        listed += [str(account) for account in as_list(args.provider.props.get("allowedAccountIds"))]
    return set(listed)


@for_types(ROLE)
def _cross_account_trust(args: ResourceValidationArgs, report: Report) -> None:
    trusted = own_accounts(args)
    found = checked_statements("assumeRolePolicy", args.props.get("assumeRolePolicy"), report)
    for statement in (statement for statement in found if statement.allows):
        if statement.condition_keys() & CROSS_ACCOUNT_CONDITION_KEYS:
            continue
        for principal in statement.principals.get("AWS", ()):
            match = ACCOUNT_PRINCIPAL.match(principal.strip())
            account = (match.group(1) or match.group(2)) if match else None
            if account is not None and account not in trusted:
                report(
                    f"assumeRolePolicy {statement.label} trusts account {account} ({principal}) without an"
                    " sts:ExternalId or aws:PrincipalOrgID condition: whoever that account lets call sts:AssumeRole can assume the role."
                )


cross_account_trust = ResourceValidationPolicy(
    name="iam-cross-account-trust-conditions",
    description="Roles trust another AWS account only with an sts:ExternalId or an organization (aws:PrincipalOrgID/aws:PrincipalOrgPaths) condition.",
    validate=_cross_account_trust,
    severity=Severity.HIGH,
    remediation_steps="Add a StringEquals sts:ExternalId condition (third parties) or aws:PrincipalOrgID (your organization) to the trust statement, or list your own accounts in trustedAccountIds.",
    tags=["iam", "confused-deputy", *sources("aws-iam:confused-deputy-prevention"), *applies_to(ROLE)],
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html",
    config_schema=config_schema(
        {
            "trustedAccountIds": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Your own AWS account ids, trusted without conditions (the provider's allowedAccountIds count too).",
            }
        }
    ),
)

POLICIES = [
    no_admin_statements,
    no_broad_managed_policies,
    trust_scoped,
    resource_policy_not_public,
    no_privilege_escalation,
    no_negated_grants,
    cross_account_trust,
]
