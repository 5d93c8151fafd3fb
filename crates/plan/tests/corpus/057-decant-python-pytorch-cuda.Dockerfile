ARG CUDA_VERSION=12.4.1
FROM nvidia/cuda:${CUDA_VERSION}-cudnn-runtime-ubuntu22.04

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3 python3-pip python3-venv git \
    && rm -rf /var/lib/apt/lists/*

ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

RUN python3 -m pip install --no-cache-dir torch torchvision --extra-index-url https://download.pytorch.org/whl/cu124
WORKDIR /workspace
COPY train.py config.yaml ./
ENTRYPOINT ["python3", "train.py"]
CMD ["--config", "config.yaml"]
