# Runs from the installed (old) package before an upgrade or uninstall: stop the agent so that its
# exe can be replaced or removed. The install script registers the task again and restarts it.
$ErrorActionPreference = 'Stop'
$toolsDir = Split-Path -Parent $MyInvocation.MyCommand.Definition
. (Join-Path $toolsDir 'helpers.ps1')

Stop-Agent -ExePath (Join-Path (Get-AgentInstallDir) $AgentExeName)
