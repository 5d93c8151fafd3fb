FROM busybox
RUN echo a \
    # a comment inside the continuation
    && echo b \

    && echo c
run   echo  lower \
  case
LABEL multi="line1 \
line2"
RUN echo trailing \\
RUN \
  echo started-empty
