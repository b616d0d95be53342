# apitwin in a container: every API at its default port, on all interfaces.
#   docker build -t apitwin .
#   docker run --rm -p 5000:5000 -p 8001:8001 -p 8080:8080 -p 8003:8003 -p 8004:8004 -p 5001:5001 apitwin
# Written without Docker (none on the machines apitwin is built on) and not built there;
# the command it runs is tested (tests/test_package.py). See README.md.

# -- the wheel, built from the checkout ----------------------------------------------------
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY apitwin apitwin
COPY server server
COPY conformance conformance
COPY openapi openapi
COPY fixtures fixtures
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# -- the image: the wheel and its pinned dependencies, run by a user without privileges ----
FROM python:3.11-slim
COPY constraints.txt /tmp/constraints.txt
COPY --from=wheel /dist /tmp/dist
RUN pip install --no-cache-dir -c /tmp/constraints.txt /tmp/dist/apitwin-*.whl \
    && rm -rf /tmp/dist /tmp/constraints.txt \
    && useradd --create-home --uid 10001 apitwin
USER apitwin
WORKDIR /home/apitwin

# The default ports of the APIs (server/<api>/__init__.py): Qoncrete 8001, MONARC 5000,
# Qore 8080, Data Cortex 8003, OpenGrid 8004, MONARC v1 5001.
EXPOSE 8001 5000 8080 8003 8004 5001

# Healthy when the admin API answers on one of the default ports (whichever APIs the
# container was told to serve).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["python", "-m", "apitwin.server.core.health", "8001", "5000", "8080", "8003", "8004", "5001"]

CMD ["apitwin", "serve", "--host", "0.0.0.0"]
