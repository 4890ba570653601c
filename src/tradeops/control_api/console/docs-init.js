// Swagger UI over this server's own OpenAPI document (no external requests).
window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
