# syntax=docker/dockerfile:1
# One image for every cityhall process: `docker run IMAGE api|collector|rules|simulate|db upgrade|...`.

# --- build: resolve the locked dependency tree into a virtualenv, then add the project itself ----------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first, in their own layer: a code change does not reinstall them. The lock pins every
# package with hashes, so pip runs in --require-hashes mode and installs exactly the reviewed tree.
COPY requirements-installer.lock requirements.lock ./
RUN pip install --require-hashes -r requirements-installer.lock \
    && pip install --require-hashes --no-deps -r requirements.lock

# --no-deps: the lock already installed (and pinned) every dependency; never let pip resolve anew here.
COPY pyproject.toml README.md ./
COPY cityhall ./cityhall
COPY api ./api
COPY collector ./collector
COPY rules ./rules
COPY simulators ./simulators
RUN pip install --no-deps . \
    && pip check

# --- runtime: the virtualenv only, no build tools, non-root --------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CITYHALL_DATA_DIR=/data

# Committee reports print Chinese names in their PDFs with this CJK font (docs/reports.md).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 cityhall \
    && useradd --system --uid 10001 --gid cityhall --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin cityhall \
    && mkdir -p /app /data \
    && chown cityhall:cityhall /data

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# /data (CITYHALL_DATA_DIR) holds the SQLite file in embedded mode and the collector's store-and-forward
# spool; compose mounts a named volume there. No VOLUME line: it would leave an anonymous volume per `run`.
USER cityhall:cityhall
# API port; collector and rules serve /health and /metrics on CITYHALL_METRICS_PORT (9100 in compose).
EXPOSE 8000 9100

ENTRYPOINT ["cityhall"]
CMD ["--help"]
