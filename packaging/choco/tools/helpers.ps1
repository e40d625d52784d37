# Shared by chocolateyInstall.ps1, chocolateyBeforeModify.ps1 and chocolateyUninstall.ps1 (dot-sourced).
# Keep this file ASCII: Windows PowerShell 5.1 reads a BOM-less script as the ANSI code page.

$AgentTaskName = 'restic-fleet-agent'
$AgentExeName = 'restic-fleet-agent.exe'
# Written at install time so that upgrades and uninstall find a state dir set with /StateDir.
$AgentStateDirFile = 'state-dir.txt'

function Get-AgentInstallDir {
  # The 64-bit Program Files, even from a 32-bit PowerShell host.
  $programFiles = if ($env:ProgramW6432) { $env:ProgramW6432 } else { $env:ProgramFiles }
  Join-Path $programFiles 'restic-fleet-agent'
}

# A package parameter's value as a string: surrounding quotes removed, $null when not given.
# Get-PackageParameters gives $true for a bare '/Name'; for a value parameter that is an error.
function Get-AgentParam {
  param([hashtable] $Params, [string] $Name)
  if (-not $Params.ContainsKey($Name)) { return $null }
  $value = $Params[$Name]
  if ($value -is [bool]) { throw "Package parameter /${Name} needs a value: /${Name}:VALUE" }
  $value = "$value".Trim()
  if ($value -match '^([''"])(.*)\1$') { $value = $Matches[2] }
  if ($value -eq '') { throw "Package parameter /${Name} needs a value: /${Name}:VALUE" }
  $value
}

# The state dir: /StateDir, else the one a previous install recorded, else %ProgramData%\restic-fleet-agent
# (the agent's own default on Windows).
function Get-AgentStateDir {
  param([hashtable] $Params, [string] $InstallDir)
  $stateDir = Get-AgentParam -Params $Params -Name 'StateDir'
  if (-not $stateDir) {
    $recorded = Join-Path $InstallDir $AgentStateDirFile
    if (Test-Path -LiteralPath $recorded) { $stateDir = "$(Get-Content -LiteralPath $recorded -TotalCount 1)".Trim() }
  }
  if (-not $stateDir) { $stateDir = Join-Path $env:ProgramData 'restic-fleet-agent' }
  if (-not [System.IO.Path]::IsPathRooted($stateDir)) { throw "/StateDir must be an absolute path; got '$stateDir'" }
  # A trailing backslash before the closing quote would escape it on the agent's command line.
  $stateDir = $stateDir.TrimEnd('\')
  # Protect-AgentStateDir replaces the folder's permissions: never do that to a shared folder.
  $shared = @($env:SystemDrive, $env:SystemRoot, $env:ProgramData, $env:ProgramFiles, $env:ProgramW6432,
    ${env:ProgramFiles(x86)}, $env:USERPROFILE, $env:PUBLIC) | Where-Object { $_ } | ForEach-Object { $_.TrimEnd('\') }
  if ($stateDir.Length -le 2 -or ($shared -contains $stateDir)) {
    throw "/StateDir must be a folder of its own, such as C:\restic-fleet-agent; got '$stateDir'"
  }
  $stateDir
}

# Runs the agent with its output captured (stdout and stderr together) and returns the exit code and text.
function Invoke-Agent {
  param([string] $ExePath, [string[]] $Arguments)
  # Windows PowerShell 5.1 turns each stderr line of a native command into an error record, which
  # $ErrorActionPreference = 'Stop' would make fatal: judge the exit code instead.
  $previous = $ErrorActionPreference
  $ErrorActionPreference = 'Continue'
  try {
    $lines = @(& $ExePath @Arguments 2>&1 | ForEach-Object { "$_" })
    $code = $LASTEXITCODE
  } finally {
    $ErrorActionPreference = $previous
  }
  [pscustomobject]@{ ExitCode = $code; Output = ($lines -join [Environment]::NewLine) }
}

function Stop-ProcessTree {
  param([int] $ProcessId)
  # restic (and a backup's hook shell) run as the agent's children: end them first, or a killed
  # agent would leave restic running and the repository locked.
  Get-CimInstance -ClassName Win32_Process -Filter "ParentProcessId = $ProcessId" -ErrorAction SilentlyContinue |
    ForEach-Object { Stop-ProcessTree -ProcessId $_.ProcessId }
  Stop-Process -Id $ProcessId -Force -ErrorAction SilentlyContinue
}

# Stops the agent: the scheduled task's process and any copy started by hand from the installed exe.
# The agent cannot be stopped gently here (a task's process gets no Ctrl+C); it is built for that:
# its next start reports an interrupted job as failed and removes the locks its own restic left.
function Stop-Agent {
  param([string] $ExePath)
  $agents = @(Get-CimInstance -ClassName Win32_Process -Filter "Name = '$AgentExeName'" -ErrorAction SilentlyContinue |
      Where-Object { (-not $_.ExecutablePath) -or ($_.ExecutablePath -ieq $ExePath) })
  foreach ($agent in $agents) { Stop-ProcessTree -ProcessId $agent.ProcessId }
  $task = Get-ScheduledTask -TaskName $AgentTaskName -TaskPath '\' -ErrorAction SilentlyContinue
  if ($task) { Stop-ScheduledTask -TaskName $AgentTaskName -TaskPath '\' -ErrorAction SilentlyContinue }
  # The exe stays locked until its process is gone; the upgrade replaces it next.
  foreach ($agent in $agents) { Wait-Process -Id $agent.ProcessId -Timeout 30 -ErrorAction SilentlyContinue }
}

# Registers (or replaces) the scheduled task that runs 'restic-fleet-agent run' as SYSTEM.
function Register-AgentTask {
  param([string] $ExePath, [string] $StateDir)
  $action = New-ScheduledTaskAction -Execute $ExePath -Argument ('run --state-dir "{0}"' -f $StateDir) `
    -WorkingDirectory (Split-Path -Parent $ExePath)
  $atStartup = New-ScheduledTaskTrigger -AtStartup
  # Watchdog: Task Scheduler's restart-on-failure reliably covers only a failed launch, not an agent
  # that exits later. Every 5 minutes this trigger starts the agent again if it is not running;
  # while it runs, MultipleInstances IgnoreNew makes the trigger a no-op. Without -RepetitionDuration
  # the repetition lasts indefinitely (Windows 10 / Server 2016 and later, which Bun needs anyway).
  $watchdog = New-ScheduledTaskTrigger -Once -At (Get-Date).AddMinutes(1) -RepetitionInterval (New-TimeSpan -Minutes 5)
  $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
  # ExecutionTimeLimit zero: no time limit (the default of 3 days would end the agent).
  # Priority 6 is normal; the default 7 is below normal, which would slow restic down.
  $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) `
    -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -MultipleInstances IgnoreNew `
    -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable -Priority 6
  Register-ScheduledTask -TaskName $AgentTaskName -TaskPath '\' -Action $action `
    -Trigger @($atStartup, $watchdog) -Principal $principal -Settings $settings -Force `
    -Description 'Restic Fleet agent: runs this host''s restic backups for a Restic Fleet server (restic-fleet-agent run).' |
    Out-Null
}

# The state dir holds the agent token and the repository passwords. Under %ProgramData% it would
# inherit read access for all users: keep only SYSTEM and Administrators (SIDs, so that it also
# works on localized Windows).
# The host policy (docs/agent.md, "Host policy"), where the agent reads it: written once with the
# safe defaults (no hooks from the server, restores only into the state dir's restore folder, the
# first repository only). An existing file is the administrator's and is kept, on upgrades too.
function Install-AgentPolicy {
  param([string] $StateDir)
  $policyDir = Join-Path $env:ProgramData 'restic-fleet-agent'
  $policy = Join-Path $policyDir 'policy.json'
  if (Test-Path -LiteralPath $policy) {
    Write-Host "Kept the host policy $policy"
    return
  }
  New-Item -ItemType Directory -Force -Path $policyDir | Out-Null
  $restore = ConvertTo-Json -InputObject (Join-Path $StateDir 'restore')
  $json = "{`r`n  `"remote_hooks`": false,`r`n  `"restore_targets`": [$restore],`r`n  `"backup_paths`": null,`r`n  `"repositories`": `"first`"`r`n}`r`n"
  # UTF-8 without a byte order mark, as the agent reads JSON.
  [System.IO.File]::WriteAllText($policy, $json, (New-Object System.Text.UTF8Encoding $false))
  Write-Host "Wrote the host policy $policy (no hooks from the server, restores into $StateDir\restore only, the first repository only): edit it to allow more, then restart the agent"
}

function Protect-AgentStateDir {
  param([string] $StateDir)
  New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
  $result = Invoke-Agent -ExePath 'icacls.exe' -Arguments @(
    $StateDir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'
  )
  if ($result.ExitCode -ne 0) { throw "icacls could not restrict access to ${StateDir}: $($result.Output)" }
}
