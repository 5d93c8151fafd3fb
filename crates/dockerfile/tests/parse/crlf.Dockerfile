FROM busybox
RUN echo crlf \
  next
ENV A=1
