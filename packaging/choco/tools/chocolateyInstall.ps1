# Installs restic-fleet-agent: copies the exe for this CPU to %ProgramFiles%\restic-fleet-agent, puts
# it on the PATH (shim), enrolls with /Server and /EnrollToken when given, and registers the
# scheduled task that runs the agent as SYSTEM at boot. Never print the enrollment token.
$ErrorActionPreference = 'Stop'
$toolsDir = Split-Path -Parent $MyInvocation.MyCommand.Definition
. (Join-Path $toolsDir 'helpers.ps1')

$pp = Get-PackageParameters
$server = Get-AgentParam -Params $pp -Name 'Server'
$token = Get-AgentParam -Params $pp -Name 'EnrollToken'
# The server certificate's fingerprint (sha256:...), pinned by the agent: GET /api/v1/server-info.
$fingerprint = Get-AgentParam -Params $pp -Name 'Fingerprint'
if (($server -and -not $token) -or ($token -and -not $server)) {
  throw "Pass /Server and /EnrollToken together to enroll during install, or neither and enroll later with 'restic-fleet-agent enroll --server URL --token TOKEN'."
}

# PROCESSOR_ARCHITEW6432 is the real architecture when this PowerShell runs emulated (x86 or x64 on ARM64).
$arch = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
switch ($arch) {
  'AMD64' { $embedded = 'restic-fleet-agent-x64.exe' }
  'ARM64' { $embedded = 'restic-fleet-agent-arm64.exe' }
  default { throw "restic-fleet-agent needs 64-bit Windows on x64 or ARM64; this machine reports '$arch'." }
}

$installDir = Get-AgentInstallDir
$exe = Join-Path $installDir $AgentExeName
$freshInstall = -not (Test-Path -LiteralPath $exe)
$stateDir = Get-AgentStateDir -Params $pp -InstallDir $installDir

New-Item -ItemType Directory -Force -Path $installDir | Out-Null
# chocolateyBeforeModify.ps1 stopped the agent on upgrade, but the task's 5-minute watchdog may have
# started it again since (and 'choco install --force' skips that script): stop it right before copying.
$attempt = 0
while ($true) {
  $attempt++
  Stop-Agent -ExePath $exe
  try {
    Copy-Item -LiteralPath (Join-Path $toolsDir $embedded) -Destination $exe -Force
    break
  } catch {
    if ($attempt -ge 3) { throw }
    Start-Sleep -Seconds 2
  }
}
# The ~110 MB copies in the package folder are no longer needed (the .ignore files stop shims for them).
Remove-Item -Path (Join-Path $toolsDir 'restic-fleet-agent-*.exe') -Force -ErrorAction SilentlyContinue

try {
  Set-Content -LiteralPath (Join-Path $installDir $AgentStateDirFile) -Value $stateDir -Encoding ASCII
  Install-BinFile -Name 'restic-fleet-agent' -Path $exe
  Protect-AgentStateDir -StateDir $stateDir
  Install-AgentPolicy -StateDir $stateDir
  Register-AgentTask -ExePath $exe -StateDir $stateDir
  Write-Host "Installed $exe ($arch) and the scheduled task '$AgentTaskName' (SYSTEM, at boot); state dir $stateDir"

  $status = Invoke-Agent -ExePath $exe -Arguments @('status', '--state-dir', $stateDir)
  # status exits 0 when enrolled, 3 when not (docs/agent.md).
  if ($status.ExitCode -ne 0 -and $status.ExitCode -ne 3) {
    throw "restic-fleet-agent status failed (exit code $($status.ExitCode)): $($status.Output)"
  }
  $enrolled = $status.ExitCode -eq 0
  if ($server -and $enrolled) {
    Write-Host "Already enrolled (state in $stateDir): not enrolling again. To replace this host's identity, run: restic-fleet-agent enroll --force --server URL --token TOKEN"
  } elseif ($server) {
    Write-Host "Enrolling with $server"
    # The token reaches the agent through its environment (RF_ENROLL_TOKEN), never its command line,
    # so no process list, error message or log shows it; the agent masks it in its own output.
    $env:RF_ENROLL_TOKEN = $token
    try {
      $enrollArgs = @('enroll', '--server', $server, '--state-dir', $stateDir)
      if ($fingerprint) { $enrollArgs += @('--fingerprint', $fingerprint) }
      $result = Invoke-Agent -ExePath $exe -Arguments $enrollArgs
    } finally {
      Remove-Item -Path 'Env:\RF_ENROLL_TOKEN' -ErrorAction SilentlyContinue
    }
    $output = $result.Output.Replace($token, '***')
    if ($result.ExitCode -ne 0) {
      throw "Enrollment with $server failed (exit code $($result.ExitCode)): $output`nCheck the server URL and that the enrollment token is valid, not expired and not used up; or install without /Server and /EnrollToken and run 'restic-fleet-agent enroll' later."
    }
    Write-Host $output
    $enrolled = $true
  }
} catch {
  # Chocolatey does not run the uninstall script after a failed install: undo a fresh install here.
  if ($freshInstall) {
    Unregister-ScheduledTask -TaskName $AgentTaskName -TaskPath '\' -Confirm:$false -ErrorAction SilentlyContinue
    Uninstall-BinFile -Name 'restic-fleet-agent'
    Remove-Item -LiteralPath $installDir -Recurse -Force -ErrorAction SilentlyContinue
  }
  throw
}

if ($enrolled) {
  Start-ScheduledTask -TaskName $AgentTaskName -TaskPath '\'
  Write-Host "Started the scheduled task '$AgentTaskName' (runs as SYSTEM at boot). Check it with: restic-fleet-agent status"
} else {
  Write-Warning "restic-fleet-agent is not enrolled yet. Run: restic-fleet-agent enroll --server URL --token TOKEN. The scheduled task '$AgentTaskName' then starts the agent within 5 minutes, and at every boot."
}
