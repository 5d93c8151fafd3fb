FROM debian:bookworm-slim
ARG HTTP_PORT=8080
RUN groupadd -r svc && useradd -r -g svc svc
WORKDIR /a
WORKDIR b
WORKDIR c
RUN pwd > /workdir.txt
EXPOSE ${HTTP_PORT} 9000-9010/tcp 5353/udp
USER svc:svc
WORKDIR /home/svc
CMD ["bash"]
