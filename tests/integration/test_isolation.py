"""Isolation: a misbehaving VM is stopped and reported, the others carry on; memory is zeroed."""

import re
import time

from rig import timeout

LOG = r"^(?:keel> )?keel: "  # a Keel log line (it may follow a shell prompt)

POWEROFF_WHEN_IDLE = "[keel]\npoweroff-when-idle = yes\n\n"


def vm(name, **keys):
    """A [vm NAME] section; KEYS with '_' spelt '-'."""
    lines = [f"[vm {name}]"] + [f"{k.replace('_', '-')} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n\n"


def stopped_reason(run, name):
    """The text after `keel: vm NAME: stopped: `, without the cpu-time note (None if absent)."""
    match = run.search(LOG + rf"vm {name}: stopped: (.*?)(?: \(cpu time [^()]*\))?$")
    return match.group(1) if match else None


def wait_all(run, patterns, timeout):
    """Wait until every one of PATTERNS has appeared in the output, in any order."""
    end = time.monotonic() + timeout
    while True:
        missing = [p for p in patterns if not run.search(p)]
        if not missing:
            return
        assert run.status is None, f"the run ended before printing {missing}"
        assert time.monotonic() < end, f"no {missing} within {timeout} s"
        time.sleep(0.2)


def assert_hello_passed(run, name, count):
    """VM NAME printed its hello result and exited normally."""
    assert run.search(rf"^\[{name}\] RESULT: PASS hello {name} printed {count} lines$"), (
        f"no RESULT: PASS from VM {name}")
    reason = stopped_reason(run, name)
    assert reason == "exited with status 1", f"vm {name} stopped with: {reason}"


def assert_clean_poweroff(run):
    """No panic, no guest failure, powered off by itself (keel-run status 0)."""
    run.assert_no_panic()
    assert "RESULT: FAIL" not in run.output, "a guest reported a failure"
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0 (powered off)"


@timeout(180)
def test_out_of_bounds_access_stops_only_that_vm(rig):
    """Reads and writes outside guest RAM stop the VM at the address it touched."""
    config = (POWEROFF_WHEN_IDLE
              + vm("rd", kernel="oob.elf", memory="16M")
              + vm("wr", kernel="oob.elf", cmdline="op=write", memory="16M")
              + vm("ok", kernel="hello.elf", cmdline="name=ok count=4", memory="16M"))
    run = rig.boot(config, timeout=120)
    run.assert_no_panic()
    for name, op, verb in (("rd", "read", "reading"), ("wr", "write", "writing")):
        said = run.search(rf"^\[{name}\] oob: {verb} (0x[0-9a-fA-F]+)$")
        assert said, f"VM {name} never said which address it would {op}"
        reason = stopped_reason(run, name)
        assert reason, f"VM {name} was not stopped"
        got = re.fullmatch(rf"{op} outside its memory at guest-physical (0x[0-9a-fA-F]+) "
                           r"\(rip 0x[0-9a-fA-F]+\)", reason)
        assert got, f"vm {name} stopped with {reason!r}, expected an out-of-memory {op}"
        assert int(got.group(1), 16) == int(said.group(1), 16), (
            f"vm {name}: Keel reports {got.group(1)}, the guest touched {said.group(1)}")
    assert_hello_passed(run, "ok", 4)
    assert_clean_poweroff(run)


@timeout(180)
def test_triple_fault_stops_only_that_vm(rig):
    """A triple fault stops and reports that VM; a hello VM next to it passes."""
    config = (POWEROFF_WHEN_IDLE + vm("tf", kernel="triple.elf", memory="16M")
              + vm("tp", kernel="triple.elf", cmdline="idt=unmapped", memory="16M")
              + vm("ok", kernel="hello.elf", cmdline="name=ok count=4", memory="16M"))
    run = rig.boot(config, timeout=120)
    run.assert_no_panic()
    for name in ("tf", "tp"):
        assert run.search(rf"^\[{name}\] about to triple fault$"), f"{name} did not run"
        reason = stopped_reason(run, name)
        assert reason and re.fullmatch(r"triple fault \(shutdown\) on vCPU 0 at rip 0x[0-9a-f]+",
                                       reason), f"vm {name} stopped with {reason!r}"
    # With paging on, the report says whether the guest's own page tables
    # reach its double-fault gate (tp's IDT is in unmapped memory) and RIP.
    assert run.search(LOG + r"vm tp: vCPU 0: double-fault gate 0x800040 is unreachable: "
                      r"page fault, error code 0x0$"), "no reachability report for tp's IDT"
    assert run.search(LOG + r"vm tp: vCPU 0: code at rip (0x[0-9a-f]+) is at guest-physical \1$")
    assert_hello_passed(run, "ok", 4)
    assert_clean_poweroff(run)


@timeout(240)
def test_memory_is_zeroed_between_vms(rig):
    """RAM a VM dirtied reads as zero in the VM started on it next.

    The host has 112M, about 110 MiB of it for VMs: after `dirty` (64M) has
    filled its RAM with 0xA5 and stopped, `clean` (64M) cannot be placed
    without at least 18 MiB of dirty's old pages.
    """
    config = ("[keel]\npoweroff-when-idle = no\n\n"
              + vm("fresh", kernel="memcheck.elf", memory="16M")
              + vm("dirty", kernel="memcheck.elf", cmdline="fill=1", memory="64M")
              + vm("clean", kernel="memcheck.elf", memory="64M", autostart="no"))
    with rig.boot(config, mem="112M", timeout=180, serial_input=True) as run:
        wait_all(run, [LOG + r"3 VMs configured, 2 started", LOG + r"vm fresh: stopped: ",
                       LOG + r"vm dirty: stopped: "], timeout=120)
        assert run.search(r"^\[dirty\] memcheck: filled free RAM with 0xa5$"), "dirty did not fill"
        free = run.shell("stats", r"memory: \d+ MiB managed, (\d+) MiB free").group(1)
        assert int(free) < 128, f"{free} MiB free: clean could avoid dirty's old pages"
        run.shell("start clean", LOG + r"vm clean: started: ")
        run.wait_for(r"^\[clean\] RESULT: \w+", timeout=120)
        run.wait_for(LOG + r"vm clean: stopped: ", timeout=60)
        run.shell("poweroff", LOG + r"powering off")
    run.assert_no_panic()
    for name in ("fresh", "dirty", "clean"):
        result = run.search(rf"^\[{name}\] (RESULT: .*)$")
        assert result and result.group(1).startswith("RESULT: PASS all "), (
            f"vm {name}: {result.group(1) if result else 'no result line'}")
        assert stopped_reason(run, name) == "exited with status 1", (
            f"vm {name} stopped with: {stopped_reason(run, name)}")
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0"
