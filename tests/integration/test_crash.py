"""A crash of Keel itself is reported on COM1 with what is needed to find the bug."""

import re

from rig import timeout

CONFIG = """
[keel]
debug-commands = yes

[vm spinner]
kernel = spin.elf
memory = 2M
"""


def crash_with(rig, command):
    run = rig.boot(CONFIG, smp=2, serial_input=True, timeout=60)
    run.wait_for(r"\[spinner\] spinning with interrupts off", timeout=40)
    run.send(command + "\n")
    run.wait_for(r"^KEEL PANIC: system halted", timeout=30)
    run.finish(timeout=30)
    return run


@timeout(120)
def test_fault_in_keel_prints_a_crash_report(rig):
    run = crash_with(rig, "debug fault")
    assert run.status == 2, f"keel-run must report a crash with status 2, got {run.status}"
    out = run.output
    assert re.search(r"^KEEL PANIC on CPU \d+: general protection \(vector 13", out, re.M)
    # Which VM was running on that CPU (the shell runs on CPU 0, which may be
    # running the spinner or idle).
    assert re.search(r"^  (while running VM 'spinner' vCPU 0|no VM was running)", out, re.M)
    for reg in ("rip", "rsp", "rflags", "cr2", "cr3", "rax", "r15"):
        assert re.search(rf"\b{reg}\s+0x[0-9a-f]+", out), f"crash report lacks {reg}"
    trace = re.search(r"^  backtrace: ((?:0x[0-9a-f]+ ?)+)$", out, re.M)
    assert trace and len(trace.group(1).split()) >= 2, "crash report lacks a backtrace"
    # keel-run names the functions: the faulting one is the shell's debug command.
    assert re.search(r"keel-run: backtrace 0x[0-9a-f]+: cmd_debug at core/shell\.c:\d+",
                     run.errors), "keel-run did not symbolize the backtrace"


@timeout(120)
def test_panic_stops_every_cpu_and_says_why(rig):
    run = crash_with(rig, "debug panic")
    assert run.status == 2
    assert re.search(r"^KEEL PANIC: operator asked for a test crash$", run.output, re.M)
    # After the report nothing else runs: no more guest or log lines.
    tail = run.output.split("KEEL PANIC: system halted", 1)[1]
    assert not re.search(r"^(\[spinner\]|keel: )", tail, re.M)


@timeout(60)
def test_debug_commands_are_off_by_default(rig):
    run = rig.boot("[vm s]\nkernel = spin.elf\nmemory = 2M\n", serial_input=True, timeout=40)
    run.wait_for(r"\[s\] spinning", timeout=30)
    run.send("debug fault\nlist\n")
    run.wait_for(r"debug commands are off", timeout=20)
    run.wait_for(r"^(keel> )?s\s+running", timeout=20)
    run.send("poweroff\n")
    run.finish(timeout=30)
    assert run.status == 0
    assert "KEEL PANIC" not in run.output
