# One image for web, worker and beat.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund  # axe-core (dev) is for the tests only

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=federation_portal.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt
COPY . .
COPY --from=assets /app/node_modules ./node_modules
# build_assets and collectstatic need settings but no secrets or services.
RUN SECRET_KEY=build DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=memory:// \
    ALLOWED_HOSTS=build EMAIL_URL=consolemail:// SITE_URL=http://build CACHE_URL=redis://build \
    sh -c "python manage.py build_assets && python manage.py collectstatic --no-input -v0"
RUN useradd --system --uid 1000 portal && mkdir -p /var/lib/portal/private \
    && chown portal /var/lib/portal/private
USER portal
EXPOSE 8000
CMD ["gunicorn", "federation_portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
