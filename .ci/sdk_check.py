"""Validates the stand-in's pages against the official SDK's own models.

The stand-in (tests/support/standin.rs) plays the Admin API in every test. This checks it
with something this project did not write: every row of its analytics usage and cost pages
and of its API key page must validate as the `anthropic` package's BetaAnalyticsUsageItem,
BetaAnalyticsCostItem and APIKey (ADMIN_API.md §3, §4). Usage: sdk_check.py DIR, where DIR
holds the pages that `QUOTA_SDK_PAGES=DIR cargo test --test integration sdk` wrote.
"""

import json
import pathlib
import sys

from anthropic.types.beta.organization.analytics import (
    BetaAnalyticsCostItem,
    BetaAnalyticsUsageItem,
)
from anthropic.types.organization import APIKey

MODELS = {
    "analytics_usage.json": BetaAnalyticsUsageItem,
    "analytics_cost.json": BetaAnalyticsCostItem,
    "api_keys.json": APIKey,
}


def main(folder: str) -> int:
    checked = 0
    for name, model in MODELS.items():
        page = json.loads((pathlib.Path(folder) / name).read_text())
        rows = page["data"]
        if not rows:
            print(f"{name}: no rows to check", file=sys.stderr)
            return 1
        for i, row in enumerate(rows):
            try:
                model.model_validate(row, strict=False)
            except Exception as e:  # pydantic.ValidationError, said in one line
                print(f"{name} data[{i}] is not a valid {model.__name__}: {e}", file=sys.stderr)
                return 1
            checked += 1
    print(f"{checked} stand-in rows valid against the anthropic SDK's models")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
