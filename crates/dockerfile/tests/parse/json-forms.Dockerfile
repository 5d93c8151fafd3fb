FROM busybox
RUN ["echo", "exec"]
RUN [ "echo", "spaced" ]
RUN ["echo", 'single quotes are not JSON']
RUN [not json
CMD ["a", "b"]
CMD a b
ENTRYPOINT []
SHELL ["/bin/bash", "-c"]
VOLUME ["/a", "/b"]
VOLUME /c /d
COPY ["a b", "/dst/"]
