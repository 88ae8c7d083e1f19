# gisgw gateway image. Migrations are a separate step:
#   docker run --rm -e GISGW_DATABASE_URL=... gisgw gisgw db upgrade
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The OpenSSL GOST engine/provider gives the fast crypto backend (without it gisgw falls back to pure Python).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libengine-gost-openssl curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/gisgw

# Dependency layer: changes only when pyproject.toml does.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
 && pip install . \
 && pip uninstall -y gisgw && rm -rf app

# Application layer.
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN pip install --no-deps . && useradd --system --uid 10001 --home /srv/gisgw gisgw \
 && mkdir -p /srv/gisgw/var && chown gisgw /srv/gisgw/var

USER gisgw
ENV GISGW_HOST=0.0.0.0 GISGW_PORT=8000 GISGW_ENV=production \
    GISGW_SCHEMA_DIR=/srv/gis-schemas
# Mount the official GIS ZhKKh format package (WSDL/XSD) at /srv/gis-schemas.
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["gisgw", "serve"]
