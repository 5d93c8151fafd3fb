# escape=`
# syntax=docker/dockerfile:1
FROM windows
RUN dir `
    c:\
COPY c:\src c:\dst
