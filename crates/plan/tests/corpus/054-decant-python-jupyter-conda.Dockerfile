FROM mambaorg/micromamba:1.5-bookworm-slim
COPY --chown=$MAMBA_USER:$MAMBA_USER env.yaml /tmp/env.yaml
RUN micromamba install -y -n base -f /tmp/env.yaml && \
    micromamba clean --all --yes
ARG MAMBA_DOCKERFILE_ACTIVATE=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN python -c 'import numpy; print(numpy.__version__)' | tee /tmp/numpy-version
WORKDIR /home/$MAMBA_USER/work
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--no-browser"]
