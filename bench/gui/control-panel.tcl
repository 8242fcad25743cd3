# A stand-in for a typical beamline control GUI (EPICS/Tango panels): mostly static widgets,
# a few readbacks updating at 5 Hz, a status lamp, and a log line every two seconds. Used by
# bench/recording-cost.mjs on a private Xvnc to measure what recording such a screen costs.
wm attributes . -fullscreen 1
. configure -background #d9d9d9
set font {Helvetica 14}
label .title -text "P11 — Beamline control (benchmark stand-in)" -font {Helvetica 20 bold} -background #d9d9d9
grid .title -row 0 -column 0 -columnspan 4 -sticky w -padx 12 -pady 8
set motors {mono_theta mono_energy slit_h slit_v sample_x sample_y sample_z detector_z}
set row 1
foreach m $motors {
  label .n$m -text $m -font $font -width 14 -anchor w -background #d9d9d9
  label .v$m -text "0.000" -font {Courier 16 bold} -width 12 -relief sunken -background white
  button .m$m -text "−" -width 3
  button .p$m -text "+" -width 3
  grid .n$m -row $row -column 0 -sticky w -padx 12 -pady 3
  grid .v$m -row $row -column 1 -padx 6
  grid .m$m -row $row -column 2
  grid .p$m -row $row -column 3
  incr row
}
label .lamp -text "BEAM ON" -font {Helvetica 16 bold} -width 12 -background green
grid .lamp -row $row -column 0 -columnspan 2 -sticky w -padx 12 -pady 10
incr row
text .log -width 100 -height 14 -font {Courier 11}
grid .log -row $row -column 0 -columnspan 6 -padx 12 -pady 6 -sticky we
set t 0
proc tick {} {
  global motors t
  incr t
  set i 0
  foreach m $motors {
    .v$m configure -text [format "%9.3f" [expr {10.0 * sin(($t + $i * 7) / 25.0)}]]
    incr i
  }
  if {$t % 10 == 0} {
    .log insert end [format "%06d  readback ok, ring current %.1f mA\n" $t [expr {100 + 2 * sin($t / 50.0)}]]
    .log see end
  }
  if {$t % 25 == 0} {
    if {[.lamp cget -background] eq "green"} { .lamp configure -background orange -text "BEAM LOW" } else { .lamp configure -background green -text "BEAM ON" }
  }
  after 200 tick
}
tick
