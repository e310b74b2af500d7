; Included by electron-builder's NSIS installer (electron-builder.yml: nsis.include).
; Desks listen on TCP 3210 for browsers and calendar apps, on TCP 3211 for colleagues' desks,
; and use mDNS (UDP 5353) to find each other. Without inbound rules, Windows asks on first start, and a "Cancel" there silently
; cuts the desk off the office. Rules are for this program only, and for private and domain
; networks only: on a network Windows calls "Public" the desk stays unreachable, by design.

!macro lanSchedulerRemoveRules
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall delete rule name="LAN Scheduler (desks and browsers, TCP 3210)"'
  Pop $0
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall delete rule name="LAN Scheduler (browsers and calendar apps, TCP 3210)"'
  Pop $0
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall delete rule name="LAN Scheduler (desks, TCP 3211)"'
  Pop $0
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall delete rule name="LAN Scheduler (finding desks, mDNS UDP 5353)"'
  Pop $0
!macroend

!macro customInstall
  ; A reinstall or an update must not pile up copies of the same rules.
  !insertmacro lanSchedulerRemoveRules
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall add rule name="LAN Scheduler (browsers and calendar apps, TCP 3210)" dir=in action=allow protocol=TCP localport=3210 program="$INSTDIR\${APP_EXECUTABLE_FILENAME}" profile=private,domain enable=yes'
  Pop $0
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall add rule name="LAN Scheduler (desks, TCP 3211)" dir=in action=allow protocol=TCP localport=3211 program="$INSTDIR\${APP_EXECUTABLE_FILENAME}" profile=private,domain enable=yes'
  Pop $0
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall add rule name="LAN Scheduler (finding desks, mDNS UDP 5353)" dir=in action=allow protocol=UDP localport=5353 program="$INSTDIR\${APP_EXECUTABLE_FILENAME}" profile=private,domain enable=yes'
  Pop $0
!macroend

!macro customUnInstall
  !insertmacro lanSchedulerRemoveRules
!macroend
