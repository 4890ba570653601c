"""The operator console at /console and the API docs at /docs (Swagger UI) and /redoc, all served
from files shipped in the package: no CDN, they render offline.

The console's pages are public static files; every piece of data they show comes from the /v1 API
with the bearer token the operator signs in with (kept in the tab's memory only).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from tradeops.control_api.vendor_assets import vendor_file

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Only files from this origin; no inline script (the console has none), the token never leaves.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
)
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

console = APIRouter(include_in_schema=False)


def _asset(directory: Path, name: str) -> Path:
    path = (directory / name).resolve()
    if path.parent != directory.resolve() or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such console file")
    return path


def _file(path: Path, csp: str) -> FileResponse:
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": csp, "Cache-Control": "no-cache"}
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix), headers=headers)


@console.get("/console")
async def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=status.HTTP_308_PERMANENT_REDIRECT)


@console.get("/console/")
async def console_index() -> FileResponse:
    return _file(_asset(CONSOLE_DIR, "index.html"), CONSOLE_CSP)


@console.get("/console/{name}")
async def console_file(name: str) -> FileResponse:
    return _file(_asset(CONSOLE_DIR, name), CONSOLE_CSP)


@console.get("/docs-assets/{name}")
async def docs_asset(name: str) -> FileResponse:
    path = vendor_file(name)
    if path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"{name}: not installed (run `npm ci --prefix tools`, or reinstall)"
        )
    media = "text/css; charset=utf-8" if name.endswith(".css") else "text/javascript; charset=utf-8"
    if "LICENSE" in name:
        media = "text/plain; charset=utf-8"
    return FileResponse(path, media_type=media, headers={**SECURITY_HEADERS, "Cache-Control": "max-age=3600"})


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{head}</head>'
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP})


@console.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return _page(
        "tradeops control API",
        '<link rel="stylesheet" href="/docs-assets/swagger-ui.css">',
        '<div id="swagger-ui"></div><script src="/docs-assets/swagger-ui-bundle.js"></script>'
        '<script src="/console/docs-init.js"></script>',
    )


@console.get("/redoc")
async def redoc() -> HTMLResponse:
    return _page(
        "tradeops control API",
        "",
        '<div id="redoc"></div><script src="/docs-assets/redoc.standalone.js"></script>'
        '<script src="/console/redoc-init.js"></script>',
    )
