"""The operator's shell on COM1: list, pause/resume, console, stop/start, stats, poweroff.

Keel echoes typed characters and VM output may land inside the echo, so the
tests wait for each command's answer, never for its echo.
"""

import re
import time

from rig import timeout

LOG = r"^(?:keel> )?keel: "  # a Keel log line (it may follow a shell prompt)
PAUSE_S = 2.0  # how long a paused VM must stay silent
PAUSE_SLACK_MS = 20  # CPU time a paused VM may still be charged (its last partial slice)


def vm(name, **keys):
    """A [vm NAME] section; KEYS with '_' spelt '-'."""
    lines = [f"[vm {name}]"] + [f"{k.replace('_', '-')} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n\n"


def hello(name, count, memory="16M", **keys):
    """A hello.elf VM printing COUNT lines (a large COUNT runs until it is stopped)."""
    return vm(name, kernel="hello.elf", cmdline=f"name={name} count={count}", memory=memory,
              **keys)


def boot_shell(rig, vms, smp=2):
    """Boot with POWEROFF-WHEN-IDLE off and the shell enabled; wait until it is ready."""
    run = rig.boot("[keel]\npoweroff-when-idle = no\n\n" + vms, smp=smp, timeout=150,
                   serial_input=True)
    run.wait_for(LOG + r"\d+ VMs? configured, \d+ started; shell on COM1 \(type 'help'\)",
                 timeout=90)
    return run


def last_line(run, name):
    """The highest `NAME: line N of` number VM NAME has printed (prefixed or raw); 0 if none."""
    return max((int(n) for n in re.findall(rf"{name}: line (\d+) of", run.output)), default=0)


def poweroff(run):
    """`poweroff`; the run must end with status 0 and no panic."""
    run.shell("poweroff", LOG + r"powering off")
    run.finish(timeout=60)
    run.assert_no_panic()
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0"


def start(run, name):
    """`start NAME`; fail at once with Keel's answer if it does not start; return the line."""
    answer = run.shell(f"start {name}", rf"keel: vm {name}: started: .*|cannot start {name}: .*")
    assert "cannot" not in answer.group(0), f"`start {name}` answered: {answer.group(0)}"
    return answer.group(0)


def states(run):
    """{name: state} from `list`."""
    return {name: row["state"] for name, row in run.vm_list().items()}


@timeout(240)
def test_shell_list_pause_resume(rig):
    """`list` shows every VM; a paused VM prints nothing and gets no CPU; resumed, it finishes."""
    run = boot_shell(rig, hello("talker", 60) + hello("idle", 3, autostart="no"))
    with run:
        run.wait_for(r"\[talker\] talker: line 3 of 60", timeout=60)
        vms = run.vm_list()
        assert set(vms) == {"talker", "idle"}, f"list shows {sorted(vms)}"
        assert vms["talker"]["state"] == "running" and vms["idle"]["state"] == "stopped", vms
        assert vms["talker"]["vcpus"] == 1 and vms["talker"]["memory"] == "16M", vms["talker"]

        run.shell("pause talker", LOG + r"vm talker: paused$")
        before = run.vm_list()["talker"]
        assert before["state"] == "paused", f"talker is {before['state']} after pause"
        seen = last_line(run, "talker")
        time.sleep(PAUSE_S)
        after = run.vm_list()["talker"]
        assert after["state"] == "paused", f"talker is {after['state']} while paused"
        assert last_line(run, "talker") == seen, (
            f"paused talker printed lines {seen + 1}..{last_line(run, 'talker')}")
        # A vCPU that was on a CPU at `pause` leaves it at its next exit (a tick at most).
        assert after["cpu_ms"] - before["cpu_ms"] <= PAUSE_SLACK_MS, (
            f"paused talker's CPU-MS went from {before['cpu_ms']} to {after['cpu_ms']}")
        assert seen < 60, "talker finished before it could be paused"

        run.shell("resume talker", LOG + r"vm talker: resumed$")
        run.wait_for(rf"\[talker\] talker: line {seen + 1} of 60$", timeout=30)
        run.wait_for(r"\[talker\] RESULT: PASS hello talker printed 60 lines$", timeout=120)
        run.wait_for(LOG + r"vm talker: stopped: exited with status 1 ", timeout=30)
        poweroff(run)
    assert "RESULT: FAIL" not in run.output


@timeout(180)
def test_shell_list_and_start_right_after_a_vm_stops(rig):
    """Once `keel: vm NAME: stopped:` is printed, `list` says stopped and `start` works."""
    run = boot_shell(rig, hello("quick", 3, memory="64M"))
    with run:
        for attempt in (1, 2):
            run.wait_for(rf"\[quick\] RESULT: PASS hello quick printed 3 lines$", timeout=90)
            run.wait_for(LOG + r"vm quick: stopped: exited with status 1 ", timeout=30)
            row = run.vm_list()["quick"]
            assert row["state"] == "stopped", (
                f"after its stopped: line, list shows quick as {row['state']} (attempt {attempt})")
            if attempt == 1:
                start(run, "quick")
        poweroff(run)


@timeout(240)
def test_shell_console_attach_detach(rig):
    """`console NAME` shows the VM's output raw; Ctrl-] detaches and the prefix comes back."""
    run = boot_shell(rig, hello("chatty", 1000000))
    with run:
        run.wait_for(r"\[chatty\] chatty: line 2 of 1000000$", timeout=60)
        attached = run.shell("console chatty",
                             r"attached to chatty; press Ctrl-\] to detach\n", timeout=30)
        first = run.wait_for(r"^chatty: line (\d+) of 1000000$", timeout=30)
        run.wait_for(rf"^chatty: line {int(first.group(1)) + 1} of 1000000$", timeout=30)
        run.send("\x1d")
        detached = run.wait_for(r"detached from chatty$", timeout=30)
        run.wait_for(r"^\[chatty\] chatty: line \d+ of 1000000$", timeout=30)
        window = run.output[attached.end():detached.start()]
        assert "[chatty]" not in window, (
            "prefixed lines while attached:\n" + window[:1000])
        assert states(run) == {"chatty": "running"}, "chatty stopped running after detach"
        run.shell("stop chatty", LOG + r"vm chatty: stopped: stopped by the operator")
        run.shell("console chatty", r"chatty is stopped", timeout=30)
        poweroff(run)


@timeout(240)
def test_shell_stop_and_start_again(rig):
    """`stop` ends a running VM; `start` runs a stopped (or never started) VM from the beginning."""
    run = boot_shell(rig, hello("worker", 1000000) + hello("later", 3, autostart="no"))
    with run:
        run.wait_for(r"\[worker\] worker: line 2 of 1000000$", timeout=60)
        run.shell("stop worker", LOG + r"vm worker: stopped: stopped by the operator")
        now = states(run)
        assert now == {"worker": "stopped", "later": "stopped"}, f"list after stop: {now}"
        run.shell("stop worker", r"worker is already stopped")

        assert "1 vCPU, 16 MiB" in start(run, "worker")
        run.wait_for(r"\[worker\] hello from worker$", timeout=60)
        run.wait_for(r"\[worker\] worker: line 1 of 1000000$", timeout=60)
        assert states(run)["worker"] == "running", "worker is not running after start"

        start(run, "later")
        run.wait_for(r"\[later\] RESULT: PASS hello later printed 3 lines$", timeout=90)
        run.wait_for(LOG + r"vm later: stopped: exited with status 1 ", timeout=30)
        poweroff(run)
    assert run.search(LOG + r"vm worker: stopped: host powering off"), (
        "worker was not stopped by the power-off")


@timeout(180)
def test_shell_help_stats_and_mistakes(rig):
    """`help` lists the commands, `stats` shows CPUs and memory, mistakes get a helpful answer."""
    run = boot_shell(rig, hello("busy", 1000000))
    with run:
        run.shell("help", r"commands:\n")
        for command in ("list", "start NAME", "stop NAME", "pause NAME", "resume NAME",
                        "console NAME", "console NAME hvc", "stats", "disks", "nics",
                        "poweroff"):
            run.wait_for(rf"^  {command} +\S", timeout=10)

        run.shell("stats", r"CPU +BUSY-MS +IDLE-MS +RUNNING\n")
        for cpu in (0, 1):
            run.wait_for(rf"^{cpu} +\d+ +\d+ +\S+$", timeout=10)
        memory = run.wait_for(r"^memory: (\d+) MiB managed, (\d+) MiB free, (\d+) MiB guest RAM",
                              timeout=10)
        managed, free, guest = (int(x) for x in memory.groups())
        assert guest == 16 and free <= managed - guest, f"stats memory line: {memory.group(0)}"

        run.shell("frobnicate", r"unknown command 'frobnicate'; type 'help'")
        run.shell("start nosuch", r"no VM named 'nosuch' \(see 'list'\)")
        run.shell("pause nosuch", r"no VM named 'nosuch'")
        run.shell("start busy", r"cannot start busy: it is running")
        poweroff(run)
