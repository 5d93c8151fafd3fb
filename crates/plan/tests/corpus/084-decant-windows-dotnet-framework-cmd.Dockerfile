# escape=`
ARG REPO=mcr.microsoft.com/dotnet/framework/sdk
FROM $REPO:4.8.1-windowsservercore-ltsc2022 AS build
WORKDIR C:\src
COPY *.sln .
COPY WebApp\*.csproj .\WebApp\
COPY WebApp\*.config .\WebApp\
RUN nuget restore

COPY WebApp\. .\WebApp\
WORKDIR C:\src\WebApp
RUN msbuild /p:Configuration=Release `
    /p:DeployOnBuild=true `
    /p:PublishProfile=FolderProfile `
    /p:PublishUrl=C:\publish

FROM mcr.microsoft.com/dotnet/framework/aspnet:4.8.1-windowsservercore-ltsc2022 AS runtime
WORKDIR /inetpub/wwwroot
COPY --from=build C:\publish\. .\
SHELL ["cmd", "/S", "/C"]
RUN icacls C:\inetpub\wwwroot /grant "IIS_IUSRS:(OI)(CI)M" `
 && echo built > C:\inetpub\wwwroot\build.txt
ENTRYPOINT ["C:\\ServiceMonitor.exe", "w3svc"]
