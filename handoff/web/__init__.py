"""HTTP and websocket plumbing shared by every room: the socket writer and read loop, limits,
pages and security headers, health, metrics and the OpenAPI document."""
