FROM busybox:1.37
ENV MY_NAME="John Doe"
ENV MY_DOG=Rex\ The\ Dog
ENV MY_CAT=fluffy
ENV LEGACY value with spaces in it
ENV A=1 B=${A}2 C="${B}3 with space"
ENV PATH=/opt/bin:$PATH
RUN echo "$MY_NAME $MY_DOG $MY_CAT $LEGACY $A $B $C" > /env.txt
