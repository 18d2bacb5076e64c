FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 ARBITER_DATA_DIR=/data
# The CPU build of torch; pass --build-arg TORCH_INDEX_URL=... for a CUDA build on GPU trainers.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX_URL" -r requirements.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0
RUN useradd --create-home arbiter && mkdir -p /data && chown arbiter /data
USER arbiter
EXPOSE 8000
CMD ["gunicorn", "annotator.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--preload"]
