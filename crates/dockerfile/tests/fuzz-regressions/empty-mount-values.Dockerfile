FROM alpine
RUN --mount=type=cache,target= --mount=type=bind,from=,source=, echo
