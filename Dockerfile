# Mono: one image for the web process (default CMD), the Temporal workers and one-shot commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Settings need DATABASE_URL and SECRET_KEY to load; these build-only values never reach the
# runtime environment, and collectstatic does not connect to the database.
RUN SECRET_KEY=collectstatic-build-only \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home mono \
    && mkdir -p "$MEDIA_ROOT" \
    && chown mono:mono "$MEDIA_ROOT"
USER mono

EXPOSE 8000
CMD ["uvicorn", "mono.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
