FROM busybox
RUN --mount=type=cache,target=/root/.cache,sharing=locked,id=pip --mount=type=secret,id=tok,required --network=none --security=insecure echo hi
RUN --mount=type=bind,from=build,source=/out,target=/in,rw echo bind
RUN --mount=type=tmpfs,target=/t,size=64m --mount=type=ssh echo t
