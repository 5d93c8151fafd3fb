# escape=`
# Args used by from statements must be defined here:
ARG InstallerVersion=ltsc2022
ARG InstallerRepo=mcr.microsoft.com/windows/servercore
ARG NanoServerRepo=mcr.microsoft.com/windows/nanoserver

# Use server core as an installer container to extract PowerShell
FROM ${InstallerRepo}:$InstallerVersion AS installer-env

ARG PS_VERSION=7.4.6
ARG PS_PACKAGE_URL=https://github.com/PowerShell/PowerShell/releases/download/v$PS_VERSION/PowerShell-$PS_VERSION-win-x64.zip

SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue';"]

RUN if (!($env:PS_VERSION -match '^\d+\.\d+\.\d+(-\w+(\.\d+)?)?$' )) {throw ('PS_Version ({0}) must match the regex \"^\d+\.\d+\.\d+(-\w+(\.\d+)?)?$\"' -f $env:PS_VERSION)}
ADD ${PS_PACKAGE_URL} /powershell.zip

RUN Expand-Archive powershell.zip -DestinationPath \PowerShell

# Install PowerShell into NanoServer
FROM ${NanoServerRepo}:ltsc2022

ARG IMAGE_NAME=mcr.microsoft.com/powershell

# Copy PowerShell Core from the installer container
ENV ProgramFiles="C:\Program Files" `
    # set a fixed location for the Module analysis cache
    PSModuleAnalysisCachePath="C:\Users\Public\AppData\Local\Microsoft\Windows\PowerShell\docker\ModuleAnalysisCache" `
    # Persist %PSCORE% ENV variable for user convenience
    PSCORE="$ProgramFiles\PowerShell\pwsh.exe" `
    POWERSHELL_DISTRIBUTION_CHANNEL="PSDocker-${IMAGE_NAME}"

COPY --from=installer-env ["\\PowerShell\\", "$ProgramFiles\\PowerShell\\"]

# Set the path
USER ContainerAdministrator
RUN setx /M PATH "%ProgramFiles%\PowerShell;%PATH%;"
USER ContainerUser

CMD ["pwsh.exe"]
