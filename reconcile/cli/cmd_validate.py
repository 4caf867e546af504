"""`reconcile validate`: check configuration offline."""

from __future__ import annotations

import json

import click

from ..errors import ValidationError
from .annotate import annotate_config_errors
from .common import (
    EXIT_ERROR,
    EXIT_OK,
    Out,
    config_options,
    handle_errors,
    parse_var_pairs,
    use_color,
    warn_empty_files,
)



def _doc() -> dict[str, object]:
    """Versioned like the plan document (docs/json-format.md, schemas/plan.schema.json);
    imported here only, so a text `validate` never loads the plan and apply layers."""
    from ..render.json_ import JSON_FORMAT_VERSION

    return {"format_version": JSON_FORMAT_VERSION, "type": "validate"}


@click.command()
@config_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "gitlab-codequality"]), default="text",
              show_default=True, help="gitlab-codequality: GitLab's Code Quality report (a JSON array) on stdout.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", envvar="INFRAI_COLOR",
              help="Colour output (NO_COLOR/FORCE_COLOR honoured).")
@click.option("--no-color", "no_color", is_flag=True, help="Same as --color never.")
@click.option("--require-vars", "require_vars", is_flag=True, envvar="INFRAI_VALIDATE_REQUIRE_VARS",
              help="Fail on a ${env:NAME} that is unset or a ${var:NAME} that is undefined, as plan and apply do "
                   "(default: check them as placeholders).")
@handle_errors
def validate(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...], fmt: str,
             color: str, no_color: bool = False, require_vars: bool = False) -> int:
    """Check configuration files offline: schema, references, duplicates.

    Needs no environment or variables: a reference without a value is checked as a
    placeholder of the field's type unless --require-vars.
    """
    from ..config import check_config

    out = Out(use_color("never" if no_color else color))
    try:
        checked = check_config(list(paths), variables=parse_var_pairs(var_pairs), var_files=list(var_files),
                               placeholders=not require_vars)
        if checked.reasons:
            raise ValidationError(checked.reasons)
        desired = checked.state
    except ValidationError as exc:
        annotate_config_errors(exc.reasons)
        if fmt == "gitlab-codequality":
            from ..render.gitlab import codequality_report

            out.result(json.dumps(codequality_report(exc.reasons), indent=2))
            return EXIT_ERROR
        if fmt == "json":
            out.result(json.dumps({**_doc(), "valid": False, "errors": [
                {"message": r.message, "path": r.path, "file": r.source.file if r.source else None,
                 "line": r.source.line if r.source else None, "column": r.source.column if r.source else None}
                for r in exc.reasons]}, indent=2))
            return EXIT_ERROR
        raise
    if fmt == "gitlab-codequality":
        out.result("[]")
    elif fmt == "json":
        out.result(json.dumps({**_doc(), "valid": True, "errors": [], "resources": len(desired.resources)}, indent=2))
    else:
        out.result(f"Configuration is valid: {len(desired.resources)} resources in {len(desired.sources)} file(s).")
    warn_empty_files(desired, out)
    if checked.unresolved:
        refs = sorted({ref for ref, _ in checked.unresolved})
        shown = ", ".join(refs[:5]) + (f" and {len(refs) - 5} more" if len(refs) > 5 else "")
        out.info(f"{len(checked.unresolved)} value(s) use a reference without a value here ({shown}): checked as "
                 "placeholders. Pass --require-vars (or INFRAI_VALIDATE_REQUIRE_VARS=1) to require them.")
    return EXIT_OK
