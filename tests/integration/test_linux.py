"""Unmodified Linux guests: Debian's stock kernel with a busybox initramfs.

The kernel is Debian's linux-image package (make linux-guest fetches it);
the initramfs's init runs the keel.cmd= words of the command line ('+' for
a space) and then powers off. Guests read Keel's ACPI tables (power-off by
ACPI S5, reset by port 0xCF9 or the i8042, PCI host bridge from the DSDT),
their local APICs (timer and IPIs, through MMIO emulation) and the IOAPIC,
which routes the ISA interrupts to any vCPU.
"""

import datetime
import re
import time

from rig import DEFAULT_RIG, timeout

BASE_CMDLINE = "console=ttyS0 panic=-1 quiet"


def linux_vm(name, *commands, memory="160M", extra="", options=""):
    words = " ".join("keel.cmd=" + c.replace(" ", "+") for c in commands)
    return (f"[vm {name}]\nkernel = vmlinuz\ninitrd = linux-initrd.img\n"
            f'cmdline = "{BASE_CMDLINE} {options} {words}"\nmemory = {memory}\n{extra}\n')


def have_kernel(rig):
    try:
        rig.guest("vmlinuz")
    except AssertionError:
        rig.skip("no Linux kernel in build/guests: run `make linux-guest`")


def assert_clean_end(run, *names):
    assert "KEEL PANIC" not in run.output
    assert run.status == 0, f"keel-run status {run.status}"
    for n in names:
        assert re.search(rf"keel: vm {n}: stopped: powered off by the guest \(ACPI S5\)",
                         run.output), f"VM {n} did not power itself off at the end of its init"


@timeout(240)
def test_linux_boots_to_busybox_and_runs_commands(rig):
    have_kernel(rig)
    run = rig.boot("[keel]\npoweroff-when-idle = yes\n" +
                   linux_vm("deb", "uname -sr", "echo sum=$((6*7))",
                            "cat /sys/bus/pci/devices/0000:00:00.0/vendor",
                            "grep -e LOC -e ttyS0 /proc/interrupts",
                            "cat /sys/devices/system/clocksource/clocksource0/current_clocksource",
                            "dmesg | grep 'tsc: Detected'", "echo now=$(date -u -Iseconds)",
                            "dmesg | grep -o 'kvm-clock: Using msrs.*'",
                            "echo nonstop=$(grep -c -w nonstop_tsc /proc/cpuinfo)"),
                   mem="512M", timeout=700)  # a bound, not a wait: Bochs takes ~2 min
    host_now = time.time()
    out = run.output
    assert re.search(r"^\[deb\] keel-guest: init running on 6\.1\.\S+, 1 CPU\(s\)$", out, re.M)
    assert re.search(r"^\[deb\] Linux 6\.1\.\S+-amd64$", out, re.M)
    assert re.search(r"^\[deb\] sum=42$", out, re.M)
    # The PCI host bridge, found through the DSDT's PCI0 and config mechanism #1.
    assert re.search(r"^\[deb\] 0x8086$", out, re.M)
    # The local APIC timer drives the kernel's ticks.
    loc = re.search(r"^\[deb\] LOC:\s+(\d+)\s+Local timer interrupts", out, re.M)
    assert loc and int(loc.group(1)) > 10, "no local APIC timer interrupts"
    # The serial port's interrupts come through the IOAPIC.
    assert re.search(r"^\[deb\]\s+4:\s+[1-9]\d*\s+IO-APIC\s+4-edge\s+ttyS0$", out, re.M)
    # Time comes from Keel's paravirtual clock: no exit per clock read, the
    # TSC rate Keel measured, and the host's wall-clock time. Linux finds it
    # through the KVM signature and registers it; it then prefers the raw TSC
    # when the CPU says it is invariant (Keel passes that bit through, and
    # Bochs' CPU models have it), and kvm-clock otherwise (QEMU's TCG CPU).
    assert re.search(r"^\[deb\] kvm-clock: Using msrs 4b564d01 and 4b564d00", out, re.M), \
        "Linux did not find Keel's pvclock"
    invariant = re.search(r"^\[deb\] nonstop=([1-9])", out, re.M)
    clock = "tsc" if invariant else "kvm-clock"
    assert re.search(rf"^\[deb\] {clock}$", out, re.M), f"clocksource is not {clock}"
    keel_mhz = int(re.search(r"keel: .* TSC (\d+) MHz", out).group(1))
    linux_mhz = float(re.search(r"tsc: Detected (\d+\.\d+) MHz processor", out).group(1))
    # Keel prints whole MHz, rounded down.
    assert 0.99 * keel_mhz <= linux_mhz <= 1.01 * (keel_mhz + 1), (linux_mhz, keel_mhz)
    # (keel.cmd turns '+' into a space, so no `date +%s`.)
    stamp = re.search(r"^\[deb\] now=(\S+)$", out, re.M).group(1)
    guest_now = datetime.datetime.fromisoformat(stamp).timestamp()
    if DEFAULT_RIG == "qemu":  # Bochs' clock starts at a fixed date (time0)
        assert host_now - 900 <= guest_now <= host_now + 5, (guest_now, host_now)
    assert_clean_end(run, "deb")


@timeout(300)
def test_two_linux_vms_and_a_test_vm_side_by_side(rig):
    have_kernel(rig)
    conf = ("[keel]\npoweroff-when-idle = yes\n" +
            linux_vm("left", "echo left-side-ok") + linux_vm("right", "echo right-side-ok") +
            "[vm tiny]\nkernel = hello.elf\ncmdline = \"name=tiny count=3\"\nmemory = 4M\n")
    run = rig.boot(conf, smp=2, mem="768M", timeout=900)  # a bound: Bochs takes ~5 min
    out = run.output
    assert re.search(r"^\[left\] left-side-ok$", out, re.M)
    assert re.search(r"^\[right\] right-side-ok$", out, re.M)
    assert re.search(r"^\[tiny\] RESULT: PASS", out, re.M)
    assert_clean_end(run, "left", "right")


@timeout(240)
def test_typing_into_a_linux_shell_through_the_console(rig):
    have_kernel(rig)
    run = rig.boot(linux_vm("shell", "echo ready-for-input", "sh"), mem="512M",
                   serial_input=True, timeout=600)
    run.wait_for(r"^\[shell\] ready-for-input$", timeout=180)
    run.send("console shell\n")
    run.wait_for(r"attached to shell", timeout=20)
    # Type only once ash shows its prompt: before that, its line editor
    # reads input as the answer to its cursor-position query (ESC [6n).
    run.wait_for(r"/ # ", timeout=120)
    run.send("echo typed-$((20+22))\n")
    run.wait_for(r"typed-42", timeout=60)
    run.send("exit\n")  # the shell ends, init powers the guest off
    run.wait_for(r"keel: vm shell: stopped: powered off by the guest", timeout=60)
    run.send("\x1dpoweroff\n")
    run.finish(timeout=60)
    assert "KEEL PANIC" not in run.output
    assert run.status == 0


@timeout(300)
def test_reboot_restarts_only_that_vm(rig):
    have_kernel(rig)
    conf = (linux_vm("rb", "echo booted", "reboot -f") +
            "[vm calm]\nkernel = spin.elf\nmemory = 2M\n")
    run = rig.boot(conf, smp=2, mem="512M", serial_input=True, timeout=900)
    run.wait_for(r"keel: vm rb: stopped: reset by the guest; restarting", timeout=200)
    run.wait_for(r"keel: vm rb: started: ", timeout=30)
    # The new boot runs init again: it really starts afresh.
    run.wait_for(r"(?s)restarting.*\[rb\] booted", timeout=200)
    run.send("list\n")
    run.wait_for(r"^(keel> )?calm\s+running", timeout=20)
    run.send("poweroff\n")
    run.finish(timeout=60)
    assert "KEEL PANIC" not in run.output
    assert run.status == 0


@timeout(300)
def test_large_vm_has_ram_above_4g_and_pci_ecam(rig):
    # 3 GiB of RAM: as on a PC, the part that does not fit below the PCI
    # hole (ECAM, PCI memory, IOAPIC, local APIC) starts at 4 GiB.
    have_kernel(rig)
    if DEFAULT_RIG == "bochs":
        rig.skip("Bochs 2.7 emulates at most 2 GiB of RAM: no room for a VM above 2.75 GiB")
    run = rig.boot("[keel]\npoweroff-when-idle = yes\n" +
                   linux_vm("big", "grep MemTotal /proc/meminfo",
                            "grep -e System -e MMCONFIG /proc/iomem",
                            "cat /sys/bus/pci/devices/0000:00:00.0/device",
                            memory="3G"),
                   mem="3584M", timeout=260)
    out = run.output
    total = re.search(r"^\[big\] MemTotal:\s+(\d+) kB$", out, re.M)
    assert total and int(total.group(1)) > 2_900_000, "the guest does not see its 3 GiB"
    assert re.search(r"^\[big\] 00100000-afffffff : System RAM$", out, re.M)
    assert re.search(r"^\[big\] 100000000-10fffffff : System RAM$", out, re.M)
    assert re.search(r"^\[big\] b0000000-b00fffff : PCI MMCONFIG 0000 \[bus 00-00\]$", out, re.M)
    assert re.search(r"^\[big\] 0x1237$", out, re.M)
    assert_clean_end(run, "big")


@timeout(300)
def test_keyboard_controller_reset_restarts_the_vm(rig):
    have_kernel(rig)
    run = rig.boot(linux_vm("kbd", "echo booted", "reboot -f", options="reboot=k"), mem="512M",
                   serial_input=True, timeout=900)
    run.wait_for(r"\[kbd\] booted", timeout=200)
    run.wait_for(r"keel: vm kbd: stopped: reset by the guest; restarting", timeout=60)
    run.wait_for(r"keel: vm kbd: started: ", timeout=30)
    run.send("poweroff\n")
    run.finish(timeout=60)
    assert "KEEL PANIC" not in run.output
    assert run.status == 0


@timeout(300)
def test_two_vcpu_linux_runs_two_busy_processes_in_parallel(rig):
    have_kernel(rig)
    busy = "timeout 3 sh -c 'while :;do :;done'"
    conf = ("[keel]\npoweroff-when-idle = yes\n" +
            linux_vm("duo", "grep -c ^processor /proc/cpuinfo", "grep '^cpu[01] ' /proc/stat",
                     f"{busy}&{busy}&wait", "grep '^cpu[01] ' /proc/stat",
                     # The serial port's interrupt moved to vCPU 1 by the
                     # IOAPIC; an NMI IPI to every vCPU (a backtrace).
                     # Linux moves an edge IRQ at its next interrupt: after
                     # the move, separate bursts of output, each of which
                     # needs its own transmit interrupt.
                     "echo 2 >/proc/irq/4/smp_affinity",
                     "for i in 1 2 3 4 5 6; do echo burst-$i; usleep 50000; done",
                     "echo irq-moved",
                     "grep ttyS0 /proc/interrupts", "echo l >/proc/sysrq-trigger",
                     "grep NMI: /proc/interrupts",
                     memory="256M", extra="vcpus = 2"))
    run = rig.boot(conf, smp=2, mem="1G", timeout=700)
    out = run.output
    assert re.search(r"^\[duo\] 2$", out, re.M), "the guest does not see 2 CPUs"
    stats = re.findall(r"^\[duo\] cpu([01]) (\d+) ", out, re.M)
    assert len(stats) == 4, stats
    before = {c: int(t) for c, t in stats[:2]}
    after = {c: int(t) for c, t in stats[2:]}
    # In the 3-second window the guest ran one busy process on each vCPU
    # (USER_HZ is 100; the bound leaves room for a loaded test machine), and
    # Keel ran the VM's vCPUs on both physical CPUs.
    for cpu in "01":
        assert after[cpu] - before[cpu] >= 100, f"CPU {cpu} busy only {after[cpu] - before[cpu]}"
    assert re.search(r"keel: vm duo: stopped: powered off by the guest .*on CPU 0,1", out)
    serial = re.search(r"^\[duo\]\s+4:\s+(\d+)\s+(\d+)\s+IO-APIC\s+4-edge\s+ttyS0$", out, re.M)
    assert serial and int(serial.group(2)) > 0, "no serial interrupt reached vCPU 1"
    # The backtrace request: the CPU that runs it NMIs the other one.
    nmi = re.search(r"^\[duo\] NMI:\s+(\d+)\s+(\d+)\s", out, re.M)
    assert nmi and int(nmi.group(1)) + int(nmi.group(2)) >= 1, "no vCPU took an NMI"
    assert_clean_end(run, "duo")
