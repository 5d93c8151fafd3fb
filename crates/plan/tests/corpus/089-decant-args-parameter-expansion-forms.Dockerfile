FROM alpine:3.20
ARG APP_NAME
ARG APP_VERSION=1.2.3-rc1
ARG REGISTRY=registry.example.com/team/
ARG DEBUG
ENV NAME=${APP_NAME:-unnamed} \
    VERSION_CORE=${APP_VERSION%-*} \
    PRERELEASE=${APP_VERSION#*-} \
    DEBUG_FLAG=${DEBUG:+--debug} \
    REGISTRY_HOST=${REGISTRY%%/*}
LABEL app.name="${NAME}" app.version="$VERSION_CORE" literal="\$NOT_EXPANDED"
WORKDIR /opt/${NAME}/${VERSION_CORE}
RUN echo "name=$NAME core=$VERSION_CORE pre=$PRERELEASE debug=$DEBUG_FLAG host=$REGISTRY_HOST" > info.txt
