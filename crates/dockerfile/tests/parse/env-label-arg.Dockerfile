ARG GLOBAL=1
ARG OTHER
FROM busybox
ENV A=1 B="two words" C=\$literal
ENV LEGACY value with  spaces
LABEL "com.example"="x y" z=
ARG X Y=2 Z="q r"
