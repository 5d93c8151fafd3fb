# syntax=docker/dockerfile:1-labs
FROM ubuntu:24.04
RUN --security=insecure cat /proc/self/status | grep CapEff
RUN --security=sandbox echo "back in the sandbox"
