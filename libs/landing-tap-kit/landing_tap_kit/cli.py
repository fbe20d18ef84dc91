"""The one way a tap's command line turns bad input and unhandled errors into one line and exit code 1.

Operators read scheduler logs: they need the one sentence that says what to fix, not a traceback (the
SDK's exception hook logs the whole traceback at ERROR, and its config error report spans several
lines). :class:`OneLineErrorTap` keeps the SDK's click command as it is and changes three things through
the SDK's own seams:

- the command's exception hook (``SingerCommand.excepthook``, which the SDK installs as ``sys.excepthook``)
  is replaced by :class:`OneLineExceptHook`: ``<tap>: error: <message>`` at ERROR, the traceback at DEBUG;
  Python then exits with status 1 as for any unhandled exception;
- ``cb_config`` (the SDK's --config callback) and ``invoke`` (the command's callback) judge the
  --config/--state/--catalog files first (:mod:`landing_tap_kit.inputs`), so a bad file is named;
- a ``ConfigValidationError`` becomes one line listing every problem.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import typing as t
from collections.abc import Mapping

import click
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError

from landing_tap_kit import inputs
from landing_tap_kit.log_filters import drop_echoes

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

#: Exceptions from these packages are worded for the operator already; others get their type name in front.
WORDED_MODULES = ("singer_sdk", "landing_tap_", "requests", "click")


class BadConfigError(ValueError):
    """The settings failed validation; the message lists every problem on one line."""


class OneLineExceptHook:
    """``sys.excepthook``: one ERROR line ``<tap>: error: <message>``, the traceback only at DEBUG."""

    def __init__(self, tap_name: str, logger: logging.Logger) -> None:
        """``tap_name`` starts the line (the scheduler log interleaves several taps)."""
        self.tap_name = tap_name
        self.logger = logger

    def __call__(
        self, exc_type: type[BaseException], exc_value: BaseException, exc_traceback: TracebackType | None
    ) -> None:
        """Log the line (KeyboardInterrupt keeps Python's own report)."""
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc_value, exc_traceback)
            return
        self.logger.error("%s: error: %s", self.tap_name, one_line(exc_value))
        self.logger.debug("Traceback", exc_info=(exc_type, exc_value, exc_traceback))


#: jsonschema starts a refused value's message with the value itself (``987654321987 is not of type
#: 'string' in config['password']``): for a secret setting, what comes before the verb is replaced, so a
#: secret typed into the wrong setting never reaches the log. Other settings keep their value (it helps).
REFUSED_VALUE = re.compile(
    r"^.*? (?=(?:is not|is too|is less than|is greater than|does not match|is a multiple|"
    r"should be|is expected|has non-unique)\b)",
    re.DOTALL,
)
SETTING_IN_MESSAGE = re.compile(r"config\['([^']+)'\]")


def secret_settings(config_jsonschema: Mapping[str, t.Any]) -> frozenset[str]:
    """Names of the settings the schema marks secret (``th.Property(..., secret=True)``)."""
    properties = config_jsonschema.get("properties") or {}
    return frozenset(
        name
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and (spec.get("secret") or spec.get("writeOnly"))
    )


def without_secret_values(error: str, secrets: frozenset[str]) -> str:
    """A config validation message with the refused value left out when the setting is secret."""
    if secrets & set(SETTING_IN_MESSAGE.findall(error)):
        return REFUSED_VALUE.sub("the value ", error, count=1)
    return error


def one_line(exc: BaseException, secrets: frozenset[str] = frozenset()) -> str:
    """The exception as one line: config problems joined (secret values left out), foreign types named."""
    if isinstance(exc, ConfigValidationError):
        errors = exc.errors or [str(exc)]
        return "config: " + "; ".join(without_secret_values(str(error), secrets) for error in errors)
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if not type(exc).__module__.startswith(WORDED_MODULES) and text:
        line = f"{type(exc).__name__}: {line}"
    return line


class OneLineErrorTap(Tap):
    """A ``Tap`` whose command line fails with one line (see the module docstring); subclass it instead of ``Tap``."""

    #: Every stream the tap has: a catalog selecting another name is refused. Empty: not checked.
    known_stream_names: t.ClassVar[Sequence[str]] = ()

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The SDK's command with our exception hook and --state/--catalog read as paths (to name them on errors)."""
        command = super().get_singer_command()
        for param in command.params:
            if param.name in {"state", "catalog"}:
                param.type = click.STRING
        hook = OneLineExceptHook(cls.name, cls.logger)
        # The SDK installs the command's `excepthook` when it invokes the command; callbacks of eager
        # options (--config, --discover) run before that, so the hook is installed here as well.
        setattr(command, "excepthook", hook)  # noqa: B010 - replaces the SDK's hook on this instance only
        sys.excepthook = hook
        drop_echoes()
        return command

    @classmethod
    @override
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        """Judge each --config file before the SDK merges them."""
        for path in value:
            if path != "ENV":
                inputs.check_config(path, inputs.load("--config", path))
        return super().cb_config(ctx, param, value)

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        state: str | None = None,
        catalog: str | None = None,
    ) -> None:
        """Judge --state and --catalog, then run the SDK's invoke; config problems become one line."""
        state_file = catalog_file = None
        if not about:
            if state is not None:
                document = inputs.check_state(state, inputs.load("--state", state))
                state_file = io.StringIO(json.dumps(document))
            if catalog is not None:
                document = inputs.load("--catalog", catalog)
                if cls.known_stream_names:
                    selected = inputs.check_catalog(catalog, document, cls.known_stream_names, cls.name)
                else:
                    selected = inputs.selected_streams(catalog, document)
                if not selected:
                    cls.logger.warning(
                        "%s: --catalog %s selects no stream: nothing will be extracted", cls.name, catalog
                    )
                catalog_file = io.StringIO(json.dumps(document))
        try:
            super().invoke(
                about=about, about_format=about_format, config=config, state=state_file, catalog=catalog_file
            )
        except ConfigValidationError as exc:
            raise BadConfigError(one_line(exc, secret_settings(cls.config_jsonschema))) from exc
