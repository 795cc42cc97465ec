# XLT Lab image: the API/dashboard (`xlt serve`) and the GPU worker (`xlt worker`) share it.
# torch comes from PyPI's default wheel (CUDA-enabled on Linux x86_64).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    XLT_HOME=/var/lib/xlt XLT_HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY backend backend
COPY worker worker
COPY xlt xlt
COPY migrations migrations
COPY frontend frontend
RUN pip install -e .
EXPOSE 8000
CMD ["xlt", "serve", "--no-worker"]
