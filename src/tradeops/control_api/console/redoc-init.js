// ReDoc over this server's own OpenAPI document (no external requests).
window.Redoc.init("/openapi.json", {}, document.getElementById("redoc"));
