FROM mcr.microsoft.com/windows/nanoserver:ltsc2022

SHELL ["cmd", "/S", "/C"]

ENV APP_HOME C:\\app
USER ContainerAdministrator
RUN setx /m PATH "%APP_HOME%\bin;%PATH%"
USER ContainerUser

COPY --from=mcr.microsoft.com/windows/servercore:ltsc2022 ["C:\\\\Windows\\\\System32\\\\curl.exe","C:\\\\app\\\\bin\\\\curl.exe"]
COPY bin\\ C:\\app\\bin\\
WORKDIR $APP_HOME
CMD ["app.exe"]
