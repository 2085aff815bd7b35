"""The API documentation pages (Swagger UI and ReDoc), served without a CDN."""
