"""The interrupt controllers a vCPU sees, from a test guest: its local APIC in
x2APIC mode (self IPI, NMI IPI, timer in one-shot, periodic and TSC-deadline
modes). Linux guests (test_linux) use the xAPIC MMIO page and the IOAPIC."""

import re

from rig import timeout


@timeout(120)
def test_local_apic_x2apic_timers_and_nmi(rig):
    # Under -icount (Bochs: always) guest time is instructions: the lateness
    # the guest measures is deterministic.
    run = rig.boot("[keel]\npoweroff-when-idle = yes\n[vm ap]\nkernel = apic.elf\nmemory = 4M\n",
                   timeout=100, icount=True)
    out = run.output
    for line in ("x2APIC mode: ID 0", "self IPI and NMI IPI delivered",
                 "one-shot timer: 1 interrupt, count 0", "periodic timer: 5 interrupts",
                 "TSC-deadline timer: fired at its deadline, then disarmed"):
        assert re.search(rf"^\[ap\] {re.escape(line)}$", out, re.M), line
    assert re.search(r"^\[ap\] RESULT: PASS", out, re.M)
    # Keel's timer fires when the guest's is due, not at its next 4 ms tick.
    late = re.search(r"^\[ap\] TSC-deadline lateness: (\d+) us$", out, re.M)
    assert late and int(late.group(1)) < 500, late and late.group(0)
    # The guest's verdict through the debug-exit port: v = 0, status 1.
    assert re.search(r"keel: vm ap: stopped: exited with status 1 ", out)
    assert run.status == 0 and "KEEL PANIC" not in out
