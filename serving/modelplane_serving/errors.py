"""What the server answers with a 4xx, and why a model cannot serve."""

from __future__ import annotations


class ClientError(Exception):
    """The request cannot be served as sent: answered with `status` and the message, the worker goes on.

    Predict code (`code/inference.py`) raises it for input it refuses; any other exception is a 500.
    """

    status = 400


class UnsupportedMediaType(ClientError):
    status = 415


class NotAcceptable(ClientError):
    status = 406


class PayloadTooLarge(ClientError):
    status = 413


class ModelLoadError(Exception):
    """The model directory holds no model the server can load; the message is the reason /ping gives."""
