"""Where the vendored API-doc assets (Swagger UI, ReDoc) are read from. Standard library only:
setup.py loads this file to copy them into the wheel.

They come from the npm packages pinned in tools/package.json (`npm ci --prefix tools`, run by
scripts/dev/ensure-tools.sh). Building the wheel copies them to `tradeops/control_api/vendor/`; a
source checkout reads them from tools/node_modules. They are never committed to the repository.
"""

from __future__ import annotations

from pathlib import Path

# served name -> path under tools/node_modules
VENDOR_FILES = {
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-LICENSE": "swagger-ui-dist/LICENSE",
    "redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
    "redoc-LICENSE": "redoc/LICENSE",
}
PACKAGED_DIR = "vendor"


def checkout_node_modules() -> Path:
    # src/tradeops/control_api/vendor_assets.py -> <repo>/tools/node_modules
    return Path(__file__).resolve().parents[3] / "tools" / "node_modules"


def vendor_file(name: str) -> Path | None:
    """The file to serve for `name`, or None (unknown name, or the assets are not installed)."""
    if name not in VENDOR_FILES:
        return None
    packaged = Path(__file__).resolve().parent / PACKAGED_DIR / name
    if packaged.is_file():
        return packaged
    source = checkout_node_modules() / VENDOR_FILES[name]
    return source if source.is_file() else None
