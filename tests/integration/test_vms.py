"""Running VMs: several guests side by side, flat binaries, start-up of every configured VM.

Every test reads only what a user sees on COM1 (and keel-run's exit status).
"""

import re

from rig import timeout

LOG = r"^(?:keel> )?keel: "  # a Keel log line (it may follow a shell prompt)

POWEROFF_WHEN_IDLE = "[keel]\npoweroff-when-idle = yes\n\n"
STOPPED = re.compile(LOG + r"vm (?P<name>\S+): stopped: (?P<reason>.*?)"
                     r"(?: \(cpu time \d+ ms on CPUs? (?P<cpus>[\d,-]+), \d+ exits\))?$", re.M)


def vm(name, **keys):
    """A [vm NAME] section; KEYS with '_' spelt '-' (load_address -> load-address)."""
    lines = [f"[vm {name}]"] + [f"{k.replace('_', '-')} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n\n"


def hello(name, count, options="", memory="16M", **keys):
    """A hello.elf VM that prints COUNT lines; OPTIONS are more command-line options."""
    return vm(name, kernel="hello.elf", cmdline=f"name={name} count={count} {options}".strip(),
              memory=memory, **keys)


def cpu_set(text):
    """{0, 1, 3} from '0-1,3'."""
    cpus = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def stopped(run):
    """{vm name: (reason, cpus it ran on)} from the `keel: vm NAME: stopped:` lines."""
    return {m["name"]: (m["reason"], cpu_set(m["cpus"]) if m["cpus"] else set())
            for m in STOPPED.finditer(run.output)}


def assert_clean_poweroff(run):
    """Keel did not crash, no guest failed, and the run ended by powering off (status 0)."""
    run.assert_no_panic()
    assert "RESULT: FAIL" not in run.output, "a guest reported a failure"
    assert "keel: all VMs have stopped" in run.output, "Keel did not notice every VM stopped"
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0 (powered off)"


def assert_hello_passed(run, name, count):
    """VM NAME printed its hello result and exited with status 1 (guest wrote 0)."""
    assert run.search(rf"^\[{name}\] RESULT: PASS hello {name} printed {count} lines$"), (
        f"no RESULT: PASS from VM {name}")
    reason = stopped(run).get(name, ("(no stopped line)",))[0]
    assert reason == "exited with status 1", f"vm {name} stopped with: {reason}"


@timeout(180)
def test_vms_run_side_by_side(rig):
    """Four hello VMs on two CPUs all pass, their output interleaves, and both CPUs were used."""
    names = ["alpha", "beta", "gamma", "delta"]
    run = rig.boot(POWEROFF_WHEN_IDLE + "".join(hello(n, 6) for n in names), smp=2,
                   timeout=120)
    assert_clean_poweroff(run)
    assert run.search(LOG + r"4 VMs configured, 4 started; shell on COM1"), "not all VMs started"
    for name in names:
        assert_hello_passed(run, name, 6)

    lines = run.lines
    span = {}
    for name in names:
        mine = [i for i, line in enumerate(lines) if line.startswith(f"[{name}] ")]
        span[name] = (mine[0], mine[-1])
    interleaved = [(a, b) for a in names for b in names if a != b and any(
        span[a][0] < i < span[a][1] for i, line in enumerate(lines) if line.startswith(f"[{b}] "))]
    assert interleaved, f"no VM printed while another was running: spans {span}"

    used = set().union(*(cpus for _, cpus in stopped(run).values()))
    assert {0, 1} <= used, f"the stopped: lines mention only CPUs {sorted(used)}, not 0 and 1"


@timeout(180)
def test_vms_all_start_when_first_exits_at_once(rig):
    """A VM that exits at once does not make Keel power off before the others have started."""
    config = (POWEROFF_WHEN_IDLE + hello("quick", 1, "delay=0") + hello("big", 3, memory="64M")
              + hello("last", 3))
    run = rig.boot(config, smp=2, timeout=120)
    run.assert_no_panic()
    started = re.findall(LOG + r"vm (\S+): started: ", run.output, re.M)
    assert run.search(LOG + r"3 VMs configured, 3 started"), (
        f"Keel started only {started} of quick, big, last before powering off:\n"
        + "\n".join(line for line in run.lines if line.startswith("keel:")))
    assert_hello_passed(run, "quick", 1)
    assert_hello_passed(run, "big", 3)
    assert_hello_passed(run, "last", 3)
    assert_clean_poweroff(run)


@timeout(120)
def test_flat_binary_runs_at_its_load_address(rig):
    """image = flat.bin with load-address = 0x200000 runs and passes."""
    run = rig.boot(POWEROFF_WHEN_IDLE + vm("raw", image="flat.bin", load_address="0x200000",
                                           memory="4M"), timeout=90)
    assert_clean_poweroff(run)
    assert run.search(LOG + r"vm raw: started: .*flat.bin"), "no started line for the flat VM"
    assert run.search(r"^\[raw\] flat binary guest running at 0x200000$"), "flat guest not seen"
    assert run.search(r"^\[raw\] RESULT: PASS flat$"), "no RESULT: PASS from the flat guest"
    reason = stopped(run).get("raw", ("(no stopped line)",))[0]
    assert reason == "exited with status 1", f"vm raw stopped with: {reason}"
