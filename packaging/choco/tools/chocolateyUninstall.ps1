# Reverses chocolateyInstall.ps1: stops the agent, removes the scheduled task, the shim and
# %ProgramFiles%\restic-fleet-agent. The state dir (identity, settings) stays unless /Purge is given:
#   choco uninstall restic-fleet-agent --params "'/Purge'"
$ErrorActionPreference = 'Stop'
$toolsDir = Split-Path -Parent $MyInvocation.MyCommand.Definition
. (Join-Path $toolsDir 'helpers.ps1')

$pp = Get-PackageParameters
$installDir = Get-AgentInstallDir
$exe = Join-Path $installDir $AgentExeName
$stateDir = Get-AgentStateDir -Params $pp -InstallDir $installDir

# Unregister first, so that the task's watchdog cannot start the agent again; then stop the agent
# (unregistering a task does not end its running process).
if (Get-ScheduledTask -TaskName $AgentTaskName -TaskPath '\' -ErrorAction SilentlyContinue) {
  Unregister-ScheduledTask -TaskName $AgentTaskName -TaskPath '\' -Confirm:$false
}
Stop-Agent -ExePath $exe
Uninstall-BinFile -Name 'restic-fleet-agent'
if (Test-Path -LiteralPath $installDir) { Remove-Item -LiteralPath $installDir -Recurse -Force }

if ($pp['Purge']) {
  if (Test-Path -LiteralPath $stateDir) { Remove-Item -LiteralPath $stateDir -Recurse -Force }
  Write-Host "Removed the state dir $stateDir. The host still exists on the server: revoke it there."
} else {
  Write-Host "Kept the state dir $stateDir (this host's identity and settings): installing again resumes as the same host. To remove it too: choco uninstall restic-fleet-agent --params `"'/Purge'`""
}
