"""Scheduling as a user sees it: no starvation, weights, caps and pinning.

CPU shares are read from the shell's `list` (CPU-MS column), as differences
between two snapshots taken a few seconds apart.
"""

import re
import time

from rig import timeout

LOG = r"^(?:keel> )?keel: "  # a Keel log line (it may follow a shell prompt)

MEASURE_S = 4.0  # seconds between the two `list` snapshots


def vm(name, **keys):
    """A [vm NAME] section; KEYS with '_' spelt '-'."""
    lines = [f"[vm {name}]"] + [f"{k.replace('_', '-')} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n\n"


def keel(poweroff_when_idle):
    """The [keel] section."""
    return f"[keel]\npoweroff-when-idle = {'yes' if poweroff_when_idle else 'no'}\n\n"


def spin(name, **keys):
    """A spin.elf VM: never exits, never halts, interrupts off."""
    return vm(name, kernel="spin.elf", memory="4M", **keys)


def stopped_line(run, name):
    """The `keel: vm NAME: stopped: ...` line, or None."""
    match = run.search(LOG + rf"vm {name}: stopped: .*$")
    return match.group(0) if match else None


def wait_spinning(run, names):
    """Wait for the shell, then for every spin VM in NAMES to be spinning."""
    run.wait_for(LOG + r"\d+ VMs? configured, \d+ started; shell on COM1", timeout=90)
    for name in names:
        if not run.search(rf"^\[{name}\] spinning with interrupts off$"):
            run.wait_for(rf"^\[{name}\] spinning with interrupts off$", timeout=60)


def cpu_ms_over(run, names, seconds):
    """({name: CPU-MS gained}, host ms elapsed) between two `list` snapshots SECONDS apart."""
    first, t0 = run.vm_list(), time.monotonic()
    time.sleep(seconds)
    second, t1 = run.vm_list(), time.monotonic()
    for name in names:
        assert first[name]["state"] == second[name]["state"] == "running", (
            f"{name} is not running: {first.get(name)} / {second.get(name)}")
    return {n: second[n]["cpu_ms"] - first[n]["cpu_ms"] for n in names}, (t1 - t0) * 1000


def poweroff(run):
    """`poweroff` on the shell; the run must end with keel-run status 0."""
    run.shell("poweroff", LOG + r"powering off")
    run.finish(timeout=60)
    run.assert_no_panic()
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0"


def check_not_starved(rig, smp, pin):
    """spin + hello sharing one CPU: hello passes while spin runs; `stop spin` ends the run."""
    config = keel(True) + spin("spin", **pin) + vm(
        "hello", kernel="hello.elf", cmdline="name=hello count=5", memory="16M", **pin)
    with rig.boot(config, smp=smp, timeout=150, serial_input=True) as run:
        run.wait_for(r"^\[hello\] RESULT: PASS hello hello printed 5 lines$", timeout=120)
        run.wait_for(LOG + r"vm hello: stopped: exited with status 1 ", timeout=30)
        assert stopped_line(run, "spin") is None, "spin stopped on its own"
        vms = run.vm_list()
        assert vms["spin"]["state"] == "running", f"spin is {vms['spin']['state']}"
        assert vms["spin"]["cpu_ms"] > 0, "spin has had no CPU time"
        run.shell("stop spin", LOG + r"vm spin: stopped: stopped by the operator")
        run.wait_for(LOG + r"all VMs have stopped", timeout=30)
        run.wait_for(LOG + r"powering off", timeout=30)
        run.finish(timeout=60)
    run.assert_no_panic()
    assert "RESULT: FAIL" not in run.output
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0"
    return run


@timeout(240)
def test_spin_does_not_starve_hello_on_one_cpu(rig):
    """smp=1: a VM spinning with interrupts off cannot keep a hello VM from finishing."""
    check_not_starved(rig, smp=1, pin={})


@timeout(240)
def test_spin_does_not_starve_hello_pinned_together(rig):
    """smp=2, both VMs pinned to CPU 0: hello still finishes, and ran on CPU 0 only."""
    run = check_not_starved(rig, smp=2, pin={"cpus": 0})
    for name in ("hello", "spin"):
        line = stopped_line(run, name)
        assert re.search(r" on CPU 0, \d+ exits\)$", line), f"{name} not only on CPU 0: {line}"


@timeout(180)
def test_weights_share_a_cpu(rig):
    """Two spinners pinned to CPU 0 with weights 256 and 768: the heavy one gets 2x-6x
    (3x in theory; time is wall-clock time of an emulated machine, which a loaded
    test host stretches unevenly, while equal weights would give about 1x)."""
    config = keel(False) + spin("light", cpus=0, weight=256) + spin("heavy", cpus=0, weight=768)
    with rig.boot(config, smp=2, timeout=120, serial_input=True) as run:
        wait_spinning(run, ["light", "heavy"])
        gained, elapsed = cpu_ms_over(run, ["light", "heavy"], MEASURE_S)
        print(f"test: in {elapsed:.0f} ms: {gained}", flush=True)
        poweroff(run)
    assert gained["light"] > 0, f"light got no CPU time: {gained}"
    ratio = gained["heavy"] / gained["light"]
    assert 2.0 <= ratio <= 6.0, f"heavy/light CPU time {ratio:.2f}, expected 2-6 ({gained})"
    assert sum(gained.values()) > 0.5 * elapsed, (
        f"CPU 0 was busy only {sum(gained.values())} of {elapsed:.0f} ms")


def cpu_clock_ms(run, cpu):
    """Keel's own time on CPU (busy + idle ms, from `stats`): the clock VM CPU
    times are counted in, which on Bochs is not the host's wall clock."""
    m = run.shell("stats", rf"(?m)^{cpu}\s+(\d+)\s+(\d+)\s+\S+$")
    return int(m.group(1)) + int(m.group(2))


@timeout(180)
def test_cap_limits_cpu_time(rig):
    """A spinner with cap = 25% alone on CPU 1 gets 15-35% of CPU 1's time."""
    config = keel(False) + spin("capped", cpus=1, cap="25%")
    with rig.boot(config, smp=2, timeout=120, serial_input=True) as run:
        wait_spinning(run, ["capped"])
        before = cpu_clock_ms(run, 1)
        gained, _ = cpu_ms_over(run, ["capped"], MEASURE_S)
        elapsed = cpu_clock_ms(run, 1) - before
        print(f"test: in {elapsed:.0f} ms of CPU 1: {gained}", flush=True)
        poweroff(run)
    share = gained["capped"] / elapsed
    assert 0.15 <= share <= 0.35, (
        f"capped VM used {share:.0%} of a CPU ({gained['capped']} of {elapsed:.0f} ms), "
        "expected 15-35% for cap = 25%")


@timeout(120)
def test_pinned_vms_run_on_their_cpus(rig):
    """hello VMs pinned with cpus = 1 and cpus = 0 report exactly that CPU when they stop."""
    config = keel(True) + "".join(vm(
        f"on{cpu}", kernel="hello.elf", cmdline=f"name=on{cpu} count=3", memory="16M", cpus=cpu)
        for cpu in (1, 0))
    run = rig.boot(config, smp=2, timeout=90)
    run.assert_no_panic()
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0"
    for cpu in (1, 0):
        line = stopped_line(run, f"on{cpu}")
        assert line and re.search(rf": exited with status 1 \(cpu time \d+ ms on CPU {cpu}, ",
                                  line), f"vm on{cpu}: {line}"
