"""Booting Keel the other ways (GRUB ISO on BIOS and UEFI) and keel-run's exit statuses."""

import shutil

from rig import keelhost, timeout

LOG = r"^(?:keel> )?keel: "  # a Keel log line (it may follow a shell prompt)
TWO_HELLOS = """
    [keel]
    poweroff-when-idle = yes

    [vm one]
    kernel = hello.elf
    cmdline = name=one count=3
    memory = 16M

    [vm two]
    kernel = hello.elf
    cmdline = name=two count=3
    memory = 16M
"""


def need_iso_tools(rig, uefi=False):
    """Skip unless grub-mkrescue and friends (and OVMF for UEFI) are installed."""
    for tool in ("grub-mkrescue", "xorriso", "mformat"):
        if shutil.which(tool) is None:
            rig.skip(f"{tool} is not installed (tools/packages.txt)")
    if uefi and not keelhost.OVMF.is_file():
        rig.skip(f"{keelhost.OVMF} is missing (apt-get install ovmf)")


def check_two_hellos(run, boot):
    """Both hello VMs passed and Keel powered off by itself."""
    run.assert_no_panic()
    assert run.search(LOG + rf"{boot} boot, \d+ MiB usable RAM"), f"no {boot} boot reported"
    assert run.search(LOG + r"2 VMs configured, 2 started"), "not both VMs started"
    for name in ("one", "two"):
        assert run.search(rf"^\[{name}\] RESULT: PASS hello {name} printed 3 lines$"), (
            f"no RESULT: PASS from {name}")
        assert run.search(LOG + rf"vm {name}: stopped: exited with status 1 "), (
            f"{name} did not exit normally")
    assert run.search(LOG + r"powering off"), "Keel did not power off"
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0\n{run.errors}"


@timeout(240)
def test_iso_boot_bios(rig):
    """GRUB (legacy BIOS) loads Keel by Multiboot2 from an ISO; two VMs run; power-off."""
    need_iso_tools(rig)
    run = rig.boot(TWO_HELLOS, iso=True, timeout=180)
    check_two_hellos(run, "Multiboot2")


@timeout(300)
def test_iso_boot_uefi(rig):
    """OVMF then GRUB load Keel from the ISO; two VMs run; power-off."""
    need_iso_tools(rig, uefi=True)
    run = rig.boot(TWO_HELLOS, iso=True, uefi=True, timeout=240)
    check_two_hellos(run, "Multiboot2")


@timeout(120)
def test_keel_run_timeout_status_3(rig):
    """A VM that never stops keeps Keel on: `keel-run --timeout 10` gives up with status 3."""
    config = "[keel]\npoweroff-when-idle = yes\n\n[vm spin]\nkernel = spin.elf\nmemory = 4M\n"
    run = rig.boot(config, timeout=10)
    run.assert_no_panic()
    assert run.search(r"^\[spin\] spinning with interrupts off$"), "spin never ran"
    assert not run.search(LOG + r"vm spin: stopped"), "spin stopped by itself"
    assert not run.search(LOG + r"powering off"), "Keel powered off with a VM running"
    assert run.status == 3, f"keel-run exit status {run.status}, expected 3 (timeout)"
    assert "keel-run: timeout after 10 s" in run.errors, f"keel-run said: {run.errors}"


@timeout(60)
def test_keel_run_missing_kernel_status_2(rig):
    """A configuration naming a kernel file that does not exist: status 2 and the file:line."""
    config = "[vm lost]\nkernel = no-such-kernel.elf\nmemory = 16M\n"
    run = rig.boot(config, name="lost", timeout=30)
    run.assert_no_panic()
    assert run.status == 2, f"keel-run exit status {run.status}, expected 2"
    assert "lost.conf:2: kernel file 'no-such-kernel.elf' not found" in run.errors, (
        f"keel-run said: {run.errors}")


@timeout(60)
def test_keel_run_gives_linux_on_several_cpus_one_qemu_thread(rig):
    """QEMU's multi-threaded TCG can undo CPU 0's nested-paging flag when another CPU
    restores x87 state, which Linux does all the time (docs/design.md, Known limits).
    keel-run therefore runs a Linux VM on several CPUs with one TCG thread and says so;
    --tcg-threads overrides it, and other guests, or one CPU, keep QEMU's default."""
    kernel = rig.tmpdir / "bzimage"
    kernel.write_bytes(b"\0" * 0x202 + b"HdrS" + b"\0" * 0x1000)  # the boot protocol's magic
    linux = "[vm lx]\nkernel = bzimage\nmemory = 64M\n"
    hello = "[vm hi]\nkernel = hello.elf\nmemory = 16M\n"
    note = "keel-run: a VM boots Linux: QEMU runs the CPUs on one thread"

    def dry(config, smp, *args):
        run = rig.boot(config, smp=smp, rig="qemu", name="threads", args=("--dry-run",) + args)
        assert run.status == 0, f"keel-run --dry-run exit status {run.status}: {run.errors}"
        accel = [line for line in run.output.splitlines() if line.startswith("qemu-system")]
        assert len(accel) == 1, f"no QEMU command in: {run.output}"
        return accel[0].split()[2], note in run.errors

    assert dry(linux, 2) == ("tcg,thread=single", True)
    assert dry(linux, 2, "--tcg-threads", "multi") == ("tcg", False)
    assert dry(linux, 1) == ("tcg", False)
    assert dry(hello, 2) == ("tcg", False)
    assert dry(hello, 2, "--tcg-single") == ("tcg,thread=single", False)
