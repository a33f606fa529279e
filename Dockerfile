# The operator image: `strongroom operator ...` (the Helm chart's Deployment runs exactly that).
# Build from the repository root: docker build -t strongroom:0.1.0 .

# Stage 1: install Strongroom and its dependencies into a virtualenv (all have binary wheels).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python -m venv /opt/strongroom \
 && /opt/strongroom/bin/pip install --upgrade pip \
 && /opt/strongroom/bin/pip install . \
 && /opt/strongroom/bin/pip uninstall --yes pip \
 && rm -rf /opt/strongroom/lib/python3.11/site-packages/strongroom/devcluster

# Stage 2: the same base, the virtualenv only; no compiler, no pip, no sources, no local control plane.
FROM python:3.11-slim
ENV PATH=/opt/strongroom/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/strongroom /opt/strongroom
# A numeric, non-root user: Kubernetes' runAsNonRoot can only verify a number (the chart runs as 65532).
USER 65532:65532
ENTRYPOINT ["strongroom"]
CMD ["operator"]
