"""Check the resolved target-snowflake configuration before a prod job extracts anything.

Run by Meltano as ``snowflake-preflight:check``, the first task of every ``*-to-snowflake`` job,
in a venv holding the loader's exact package. The utility's config is a YAML alias of the
loader's config in meltano.yml, and Meltano hands it to this script as
``SNOWFLAKE_PREFLIGHT_<SETTING>`` environment variables, so this checks what the loader would
receive from the same ``SNOWFLAKE_*`` variables.

Why a separate step: Meltano starts tap and loader together, and target-snowflake 0.20.4 only
connects when the first batch is flushed, so without credentials the tap would already be
extracting. Empty ``${SNOWFLAKE_*}`` references are dropped by Meltano and the target's own
error for them ("No password, private key, or OAuth token was provided") does not say which
variable is missing. Ends in one line on stderr; exit code 1 when something is missing.
Never prints a secret. See docs/snowflake.md.

Each job runs its own command (``snowflake-preflight:check-<source>``), whose arguments name the
variables its extractor and its hashing need, as README.md documents them: ``VAR`` or
``VAR|ALTERNATIVE``. Those are read from the process environment (Meltano passes it through), so
one line names every missing variable of the job — extractor, hashing key and loader together —
before the tap starts.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

PREFIX = "SNOWFLAKE_PREFLIGHT_"
#: Variables that are useless below a length: the launcher refuses a shorter hash key
#: (mapper_pii.hashing.MIN_KEY_LENGTH), so the preflight says so before anything starts.
MIN_LENGTH = {"PII_HASH_KEY": 16}

#: Setting -> the operators' environment variable that meltano.yml maps onto it.
REQUIRED = {
    "account": "SNOWFLAKE_ACCOUNT",
    "user": "SNOWFLAKE_USER",
    "role": "SNOWFLAKE_ROLE",
    "warehouse": "SNOWFLAKE_WAREHOUSE",
    "database": "SNOWFLAKE_DATABASE",
}
AUTH = {
    "password": "SNOWFLAKE_PASSWORD",
    "private_key": "SNOWFLAKE_PRIVATE_KEY",
    "private_key_path": "SNOWFLAKE_PRIVATE_KEY_PATH",
}


class PreflightError(Exception):
    """The loader would fail (or authenticate ambiguously) once records arrive."""


def resolved_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the non-empty settings, as Meltano exported them to this command."""
    return {name[len(PREFIX) :].lower(): value for name, value in environ.items() if name.startswith(PREFIX) and value}


def missing_variables(requirements: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Each requirement (``VAR`` or ``VAR|ALTERNATIVE``) none of whose variables is set, as text."""
    missing = []
    for requirement in requirements:
        names = requirement.split("|")
        if not any(environ.get(name) for name in names):
            missing.append(names[0] + "".join(f" (or {name})" for name in names[1:]))
    return missing


def too_short(requirements: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Set variables that are shorter than they must be (the hash key)."""
    names = {name for requirement in requirements for name in requirement.split("|")}
    return [
        f"{name} is shorter than {length} characters"
        for name, length in MIN_LENGTH.items()
        if name in names and environ.get(name) and len(environ[name]) < length
    ]


def check(
    settings: Mapping[str, str], requirements: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> str:
    """Return a one-line summary of a usable configuration, or raise :class:`PreflightError`.

    Everything missing — the job's own variables and the loader's — is named in one message.
    """
    env = os.environ if environ is None else environ
    missing = missing_variables(requirements, env)
    missing += [env_name for setting, env_name in REQUIRED.items() if not settings.get(setting)]
    methods = [setting for setting in AUTH if settings.get(setting)]
    if not methods:
        missing.append(" or ".join(AUTH.values()))
    problems = [f"missing variables: {', '.join(missing)}"] if missing else []
    problems += too_short(requirements, env)
    if problems:
        raise PreflightError("; ".join(problems))
    if len(methods) > 1:
        # target-snowflake refuses more than one method, with a message naming none of them.
        chosen = ", ".join(AUTH[m] for m in methods)
        raise PreflightError(f"more than one Snowflake credential is set ({chosen}); keep exactly one")
    if methods[0] != "password":
        _check_private_key(settings)
        auth = "key-pair"
    else:
        auth = "password"
    checked = f", {len(requirements)} job variables" if requirements else ""
    return (
        f"account {settings['account']}, user {settings['user']}, role {settings['role']}, "
        f"warehouse {settings['warehouse']}, database {settings['database']}, {auth} auth{checked}"
    )


def _check_private_key(settings: Mapping[str, str]) -> None:
    """Load the key the way target-snowflake does, so a bad file or passphrase fails here."""
    from target_snowflake.connector import SnowflakeConnector  # noqa: PLC0415  (loader venv only)

    path = settings.get("private_key_path")
    if path and not Path(path).is_file():
        raise PreflightError(f"private key file not found: {path} (SNOWFLAKE_PRIVATE_KEY_PATH)")
    connector = SnowflakeConnector(config=dict(settings))
    try:
        with warnings.catch_warnings():
            # A PEM key in the variable draws a DeprecationWarning: noise, not a failure.
            warnings.simplefilter("ignore")
            connector.get_private_key()
    except (ValueError, TypeError) as exc:
        # The cryptography message names the cause (bad decrypt, not a key) without key material.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        source = "SNOWFLAKE_PRIVATE_KEY_PATH" if path else "SNOWFLAKE_PRIVATE_KEY"
        raise PreflightError(
            f"private key from {source} cannot be loaded (check SNOWFLAKE_PRIVATE_KEY_PASSPHRASE): {reason}"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``snowflake-preflight:check*`` commands; arguments: the job's variables."""
    requirements = list(sys.argv[1:] if argv is None else argv)
    try:
        summary = check(resolved_settings(os.environ), requirements)
    except PreflightError as exc:
        sys.stderr.write(f"snowflake-preflight: refusing to run the Snowflake load: {exc}\n")
        return 1
    sys.stderr.write(f"snowflake-preflight: ok ({summary})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
