@echo off
rem Moat anti-virus client installer (windows), written by moat-updated.
rem Run it as an administrator from the unpacked folder.  It verifies the
rem package's SHA-256, installs it, writes %ProgramData%\Moat\freshclam.conf
rem (signatures from the gateway's mirror), copies the current databases and
rem registers the daily update at 02:17 with schtasks, then runs a first update.
setlocal EnableExtensions DisableDelayedExpansion
cd /d "%~dp0" || exit /b 1
set "WANT=5b1f0d5f7c3c1e8a9a3f0e2d4c6b8a0912345678901234567890abcdefabcdef"
set "GOT="
for /f "skip=1 delims=" %%h in ('certutil -hashfile "package.msi" SHA256') do if not defined GOT set "GOT=%%h"
if not defined GOT goto :badhash
set "GOT=%GOT: =%"
if /i not "%GOT%"=="%WANT%" goto :badhash
echo moat-install: package verified (SHA-256 %WANT%)
msiexec /i "%~dp0package.msi" /qn /norestart
if errorlevel 1 (echo moat-install: error: the package did not install 1>&2 & exit /b 1)
set "MOAT=%ProgramData%\Moat"
set "FRESHCLAM=%ProgramFiles%\ClamAV\freshclam.exe"
if not exist "%MOAT%\db" mkdir "%MOAT%\db"
if not exist "%MOAT%\db" (echo moat-install: error: cannot make %MOAT%\db 1>&2 & exit /b 1)
> "%MOAT%\freshclam.conf" echo DatabaseDirectory %MOAT%\db
type freshclam.conf >> "%MOAT%\freshclam.conf"
if errorlevel 1 (echo moat-install: error: cannot write %MOAT%\freshclam.conf 1>&2 & exit /b 1)
if exist db\ copy /y db\* "%MOAT%\db\" >nul
if errorlevel 1 (echo moat-install: error: cannot copy the databases 1>&2 & exit /b 1)
schtasks /Create /F /TN "Moat\AV update" /SC DAILY /ST 02:17 /RU SYSTEM /TR "\"%FRESHCLAM%\" --config-file=\"%MOAT%\freshclam.conf\""
if errorlevel 1 (echo moat-install: error: schtasks could not register the update 1>&2 & exit /b 1)
echo moat-install: signature update every day at 02:17 (task Moat\AV update)
"%FRESHCLAM%" --config-file="%MOAT%\freshclam.conf"
if errorlevel 1 (echo moat-install: error: the first signature update failed 1>&2 & exit /b 1)
echo moat-install: done
exit /b 0
:badhash
echo moat-install: error: package SHA-256 mismatch (got %GOT%, want %WANT%); nothing was installed 1>&2
exit /b 1
