FROM alpine:3.20
RUN echo hello \

    && echo world \
# a comment line inside the continuation is dropped
    && echo again \   
    && echo done
RUN apk add --no-cache \
    curl \
    # comment between packages
    jq \
    \
    git
CMD ["sh"]
