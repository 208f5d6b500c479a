; Inno Setup 6 script for Ponder on Windows: per-user install (no administrator rights), a Start-menu entry, and an
; uninstaller that keeps the person's models and conversations unless they ask to delete them.
;
;   iscc /DAppVersion=X.Y.Z /DVariant=directml installers\windows\ponder.iss
;
; Input: dist\ponder\ (installers/ponder.spec on Windows: ponder.exe, the console command, and ponderw.exe, the
; same app without a console window). Output: dist\Ponder-<version>-windows-<variant>-setup.exe.
; The release workflow passes AppVersion from engine/_version.py, the single source of the version.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z (from engine/_version.py)
#endif
#ifndef Variant
  #define Variant "directml"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\ponder"
#endif

[Setup]
AppId={{3568A8AA-176B-421E-BD41-DB5E260D56D8}
AppName=Ponder
AppVersion={#AppVersion}
AppVerName=Ponder {#AppVersion}
AppPublisher=Ponder
VersionInfoVersion={#AppVersion}
VersionInfoProductVersion={#AppVersion}
; Per-user: installs into %LOCALAPPDATA%\Programs\Ponder; no UAC prompt.
PrivilegesRequired=lowest
DefaultDirName={autopf}\Ponder
DefaultGroupName=Ponder
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
OutputDir=..\..\dist
OutputBaseFilename=Ponder-{#AppVersion}-windows-{#Variant}-setup
SetupIconFile=..\..\resources\icons\ponder.ico
UninstallDisplayIcon={app}\ponderw.exe
UninstallDisplayName=Ponder {#AppVersion}
WizardStyle=modern
Compression=lzma2
SolidCompression=yes
LZMANumBlockThreads=4
#if Variant == "cuda"
; CUDA and cuDNN make this variant larger than one setup file may be: the installer comes with .bin slices.
DiskSpanning=yes
DiskSliceSize=max
#endif
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[CustomMessages]
DeleteData=Also delete your models, conversations and settings?%n%n%1%n%nChoose No to keep them for a later install.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Ponder"; Filename: "{app}\ponderw.exe"; WorkingDir: "{app}"; Comment: "Private AI on your own computer"
Name: "{autodesktop}\Ponder"; Filename: "{app}\ponderw.exe"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\ponderw.exe"; Description: "{cm:LaunchProgram,Ponder}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the installer put in {app}; the data folder is handled in [Code] below.
Type: filesandordirs; Name: "{app}\_internal"

[Code]
{ The data folder is platformdirs.user_data_dir("Ponder", appauthor=False) = %LOCALAPPDATA%\Ponder (engine/system/paths.py;
  PONDER_HOME overrides it and is never touched here). It holds the models, conversations, documents index and
  settings, so it is kept unless the person says otherwise: a question when uninstalling interactively, or
  /DELETEDATA=1 on the command line of a silent uninstall. }
function DataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\Ponder');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Delete: Boolean;
begin
  if (CurUninstallStep = usPostUninstall) and DirExists(DataDir()) then
  begin
    if UninstallSilent() then
      Delete := ExpandConstant('{param:DELETEDATA|0}') = '1'
    else
      Delete := MsgBox(FmtMessage(CustomMessage('DeleteData'), [DataDir()]), mbConfirmation,
                       MB_YESNO or MB_DEFBUTTON2) = IDYES;
    if Delete then
      DelTree(DataDir(), True, True, True);
  end;
end;
