; Inno Setup script: a per-user or per-machine Windows installer around the PyInstaller onedir
; folder. Not built on the Linux build machine; see installer/README.md ("Windows").
;
;   1. In a Windows checkout (Python 3.11, Git Bash):  bash scripts/build_installer.sh cpu
;      -> dist\cpu\ra-desktop\ (ra-desktop.exe windowed, ra-desktop-cli.exe console, _internal\)
;   2. iscc /DAppVersion=0.1.0 /DVariant=cpu installer\windows\ra_desktop.iss
;      -> dist\RA-Desktop-0.1.0-windows-x64-cpu-setup.exe
;   3. On a clean Windows machine: install, then run
;      "%LOCALAPPDATA%\Programs\RA Desktop\ra-desktop-cli.exe" --self-test
;
; The install folder is never written to at run time: user data goes to %LOCALAPPDATA%\RA Desktop
; (platformdirs), so installing under Program Files is safe.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef Variant
  #define Variant "cpu"
#endif
#define AppName "RA Desktop"
#define SourceDir "..\..\dist\" + Variant + "\ra-desktop"

[Setup]
AppId={{6C6A6E7B-2B1E-4C9E-9D4F-5A0E1C7F3B21}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=RA Desktop
AppComments=Decision support for hand radiographs. Research and education only; not a medical device.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
; Per-user install without administrator rights by default; the dialog offers all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=RA-Desktop-{#AppVersion}-windows-x64-{#Variant}-setup
; torch is large: LZMA2 solid compression gives the smallest installer.
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\ra-desktop.exe
#if FileExists(AddBackslash(SourcePath) + "..\icons\ra-desktop.ico")
SetupIconFile=..\icons\ra-desktop.ico
#endif

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\ra-desktop.exe"
Name: "{group}\{#AppName} self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\ra-desktop-cli.exe"" --self-test"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\ra-desktop.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Run]
Filename: "{app}\ra-desktop.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
