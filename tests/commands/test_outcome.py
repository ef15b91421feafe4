"""`outcome_of`: one message and exit 2 for a Kubernetes API error, whatever its body holds."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from modelplane.commands import outcome_of


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"kind": "Status", "message": "deployments.apps is forbidden"}',
            "403 Forbidden: deployments.apps is forbidden",
        ),
        ("<html>Forbidden</html>", "403 Forbidden"),
        ('"forbidden by the gateway"', "403 Forbidden"),
        ("null", "403 Forbidden"),
    ],
)
def test_an_api_error_is_one_line_whatever_its_body(body: str, expected: str) -> None:
    error = ApiException(status=403, reason="Forbidden")
    error.body = body
    assert outcome_of("verify", error) == (2, f"modelplane verify: Kubernetes API: {expected}")
