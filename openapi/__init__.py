"""The contracts: one hand-written OpenAPI 3 document per API, shipped as package data
(`apitwin.OPENAPI_DIR`)."""
