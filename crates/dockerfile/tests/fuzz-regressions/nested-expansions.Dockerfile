FROM alpine
ENV A=${B:-${C:-${D:-${E:-${F}}}}}
RUN echo ${A:+${A#${A%%x}}}
