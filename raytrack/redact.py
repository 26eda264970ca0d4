"""Credentials out of what is logged or printed.

- URIs: a tracking URI may carry a password (``https://user:password@host``) or a token in its
  query (``?token=...``, a presigned URL's ``X-Amz-Signature``). The real URI is what connects;
  what goes to a log, a logged parameter or the terminal is :func:`redact_uri` of it.
- Environment: Ray writes every runtime environment it creates, ``env_vars`` included, to
  ``runtime_env_agent.log`` (mode 0644) in its session directory. Secrets must not travel in
  one: :func:`keep_secrets_out_of_runtime_envs`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

MASK = "***"

# Query parameters whose value is a secret: names containing one of these words ...
_SECRET_WORDS = ("token", "key", "secret", "password", "passwd", "signature", "credential")
# ... or named exactly one of these.
_SECRET_NAMES = frozenset({"sig", "pwd", "pass", "auth", "authorization"})

# Secrets Ray Tune copies from the driver's environment into every trial's runtime_env.
TUNE_PROPAGATED_SECRETS = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"}
)

# scheme://..., up to white space or a quote, less trailing punctuation ("see http://h/x.")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]*[^\s'\"<>.,;:!?)\]}]")


def secret_parameter(name: str) -> bool:
    """Whether a query parameter called ``name`` holds a secret (``token``, ``api_key``,
    ``X-Amz-Signature``, ``sig``, ...); case is ignored."""
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS)


def redact_uri(uri: str) -> str:
    """``uri`` with the password of its user information and the values of its secret query
    parameters replaced by ``***``; everything else is kept as written.

    ``https://alice:pw@host/x?token=t&run=3`` becomes ``https://alice:***@host/x?token=***&run=3``.
    A string without ``scheme://`` is returned unchanged.
    """
    if "://" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: keep nothing after the scheme
        scheme = uri.split("://", 1)[0]
        return f"{scheme}://{MASK}"
    scheme_end = len(parts.scheme) + len("://")
    netloc_end = scheme_end + len(parts.netloc)
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}"
    rest = uri[netloc_end:]
    if parts.query:
        path, _, query = rest.partition("?")
        query, hash_mark, fragment = query.partition("#")
        query = "&".join(_redact_pair(pair) for pair in query.split("&"))
        rest = f"{path}?{query}{hash_mark}{fragment}"
    return uri[:scheme_end] + netloc + rest


def _redact_pair(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    return f"{name}={MASK}" if equals and secret_parameter(name) else pair


def redact_text(text: str) -> str:
    """``text`` with :func:`redact_uri` applied to every ``scheme://...`` in it (an error
    message, a printed line)."""
    return _URI.sub(lambda match: redact_uri(match.group(0)), text)


def redact_config(value: Any) -> Any:
    """A copy of a (nested) configuration whose strings went through :func:`redact_text`: what
    W&B and MLflow receive as a trial's configuration."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_config(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_config(item) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_config(item) for item in value)
    return value


def keep_secrets_out_of_runtime_envs() -> None:
    """Stop Ray Tune copying the driver's AWS credentials into each trial's ``runtime_env``.

    Ray Tune (``ray.tune.execution.class_cache``) puts ``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_SECURITY_TOKEN`` and ``AWS_SESSION_TOKEN`` into the runtime
    environment of every trainable, so that trials can write to S3 storage; Ray then logs them
    in plain text. raytrack's storage is a local or shared file system, the workers of a local
    Ray inherit the driver's environment anyway, and the nodes of a cluster take credentials
    from their own environment (the cluster's secrets, see ``cluster/``). Call before the
    Tuner starts its first trial; calling again changes nothing.
    """
    from ray.tune.execution import class_cache

    propagated = getattr(class_cache, "ENV_VARS_TO_PROPAGATE", None)
    if propagated is not None:
        class_cache.ENV_VARS_TO_PROPAGATE = set(propagated) - TUNE_PROPAGATED_SECRETS
