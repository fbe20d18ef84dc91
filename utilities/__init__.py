"""The project's own Meltano utilities, in one place (utilities/README.md).

``utilities.checks`` (freshness, volume, run history and the HTML run report; Meltano utility ``checks``),
``snowflake_preflight.py`` and ``snowflake_prune.py`` (Meltano utility ``snowflake-preflight``, run by the
loader's own venv), ``logging/`` (what SDK plugins print during a run).
"""
