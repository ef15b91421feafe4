"""What a registry answers, read as `image test` and `image push` read it: every answer that is not what the
distribution spec says is one ImageError naming the registry, never an unexpected error. A registry on
loopback with its answers scripted (a real HTTP server, the exchange as Docker Hub and GHCR run it:
401 with a Bearer challenge, then the token endpoint)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from modelplane.images.daemon import ImageError
from modelplane.images.push import ecr_credentials
from modelplane.images.registry import DOCKER_MANIFEST, Reference, fetch_manifest
from tests.images.harness import Answer, scripted_server

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {"digest": "sha256:ab"}}).encode()


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="http://{host}/token",service="registry"'}
MANIFEST_PATH = "/v2/team/model/manifests/v1"


@pytest.mark.parametrize(
    ("token_answer", "reason"),
    [
        ((200, {}, b"<html>sign in</html>"), "the token answer of http://127.0.0.1:{port}/token is not JSON"),
        ((200, {}, b"[]"), "the token answer of http://127.0.0.1:{port}/token is JSON but not an object"),
        ((200, {}, b'{"token": ""}'), "the token answer of http://127.0.0.1:{port}/token holds no token"),
        ((200, {}, b'{"token": 7}'), "holds no token"),
        ((200, {}, b"\xff\xfe"), "is not JSON"),
        ((403, {}, b"denied"), "token request refused: HTTP 403"),
    ],
)
def test_a_token_answer_that_is_no_token_is_refused_naming_the_registry(token_answer: Answer, reason: str) -> None:
    answers = {MANIFEST_PATH: (401, CHALLENGE, b""), "/token": token_answer}
    with scripted_server(answers) as address, pytest.raises(ImageError) as refused:
        fetch_manifest(Reference.parse(f"{address}/team/model:v1"))
    port = address.rsplit(":", 1)[1]
    assert str(refused.value).startswith(f"registry {address}: ")
    assert reason.format(port=port) in str(refused.value)


def test_the_token_exchange_reads_the_manifest_with_the_token() -> None:
    def answer(path: str, authorization: str) -> Answer:
        if path == "/token":
            return 200, {}, b'{"access_token": "t0k"}'
        if authorization != "Bearer t0k":
            return 401, CHALLENGE, b""
        return (200, {"Content-Type": DOCKER_MANIFEST}, MANIFEST) if path == MANIFEST_PATH else (404, {}, b"")

    with scripted_server(answer) as address:
        manifest = fetch_manifest(Reference.parse(f"{address}/team/model:v1"))
        absent = fetch_manifest(Reference.parse(f"{address}/team/model:v2"))
    assert manifest is not None and (manifest.media_type, manifest.config_digest) == (DOCKER_MANIFEST, "sha256:ab")
    assert absent is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((200, {"Content-Type": DOCKER_MANIFEST}, b"not json"), "the manifest of team/model is not JSON"),
        ((200, {"Content-Type": DOCKER_MANIFEST}, b'["a"]'), "the manifest of team/model is JSON but not an object"),
        ((500, {}, b"<html>oops</html>"), "HTTP 500 for the manifest of team/model:v1: Internal Server Error"),
        (
            (400, {}, b'{"errors": [{"code": "MANIFEST_INVALID", "message": "bad"}, "x"]}'),
            "HTTP 400 for the manifest of team/model:v1: MANIFEST_INVALID: bad",
        ),
        ((400, {}, b'{"errors": "bad"}'), "HTTP 400 for the manifest of team/model:v1: Bad Request"),
    ],
)
def test_a_manifest_answer_that_is_no_manifest_is_refused_naming_the_registry(answer: Answer, reason: str) -> None:
    with scripted_server({MANIFEST_PATH: answer}) as address, pytest.raises(ImageError) as refused:
        fetch_manifest(Reference.parse(f"{address}/team/model:v1"))
    assert str(refused.value).startswith(f"registry {address}: {reason}")


def test_an_unreachable_registry_is_refused_naming_it_with_the_network_error_as_its_cause() -> None:
    with scripted_server({}) as address:
        pass
    with pytest.raises(ImageError, match=rf"^registry {address}: ") as refused:
        fetch_manifest(Reference.parse(f"{address}/team/model:v1"))
    assert isinstance(refused.value.__cause__, OSError)


@pytest.mark.parametrize("token", ["not base64!", "QVdT", "Oi0=", "//79"])
def test_an_ecr_token_that_is_not_base64_user_and_password_is_refused(token: str) -> None:
    """ECR's answer, as botocore's model of GetAuthorizationToken allows it (Stubber checks the shape)."""
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ecr) as stubbed:
        stubbed.add_response("get_authorization_token", {"authorizationData": [{"authorizationToken": token}]})
        stubbed.add_response("get_authorization_token", {"authorizationData": []})
        for _ in range(2):
            with pytest.raises(ImageError, match=r"^ecr:GetAuthorizationToken answered without a token"):
                ecr_credentials(ecr)
