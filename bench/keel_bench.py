#!/usr/bin/env python3
"""Keel's measurements (make bench). Most are deterministic: instruction
counts under QEMU `-icount shift=0,sleep=off`, where the guest's TSC advances
one tick per instruction executed (guest and hypervisor alike), so every
figure is an instruction count and repeats exactly. `net` is the exception.

  exits   the cost of a CPUID and a port-I/O exit round trip seen from a guest:
          the bench guest's ticks per operation under Keel minus the same
          guest's ticks booted directly by QEMU with no hypervisor.
  memory  Keel memory each additional VM costs, excluding its RAM, as Keel
          reports it when starting eight small VMs.
  linux   Linux's guest clock at "Run /init", directly and under Keel.
  disk    in-guest virtio-blk throughput (busybox dd, O_DIRECT, 1 MiB blocks),
          a write pass then a read pass: QEMU's own virtio-blk-pci on a raw
          image vs. Keel's virtio-blk on a datastore volume on an emulated
          NVMe disk. Both under -icount: MB/s in guest time (instructions).
  net     VM-to-VM TCP throughput (busybox nc): two QEMUs joined by a socket
          netdev vs. two VMs on one Keel switch. Wall-clock, not icount, so
          noisy: the median of several transfers (see net()).

`python3 bench/keel_bench.py disk net` runs just the virtio pair.
Prints Markdown ready for docs/performance.md; progress goes to stderr.
"""
import argparse
import contextlib
import re
import socket
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
import rig as rigmod  # noqa: E402

ITERS = 2000


def bench_lines(output):
    """{'cpuid': ticks, ...} from the bench guest's `BENCH name N ticks/iter` lines."""
    found = dict(re.findall(r"BENCH (\w+) (\d+) ticks/iter", output))
    return {k: int(v) for k, v in found.items()}


def exits(r, rig="qemu", cpu_model=None):
    """Rows of (label, native, under Keel, cost). On Bochs (clock: sync=none)
    the TSC also counts instructions; the native figures come from QEMU."""
    direct = r.boot_direct("bench.elf", f"iters={ITERS}", icount=True, timeout=120)
    native = bench_lines(direct.output)
    keel = r.boot(f"""
        [keel]
        poweroff-when-idle = yes
        [vm bench]
        kernel = bench.elf
        cmdline = "iters={ITERS}"
        memory = 4M
        """, icount=rig == "qemu", smp=1, timeout=300, rig=rig,
        args=["--cpu-model", cpu_model] if cpu_model else [])
    under = bench_lines(keel.output)
    if not native or not under:
        sys.exit(f"bench: no BENCH lines\n--- direct\n{direct.output}\n--- keel\n{keel.output}")
    rows = []
    for op, label in (("cpuid", "CPUID exit round trip"), ("pio_in", "port I/O read (IN, UART LSR)"),
                      ("pio_out", "port I/O write (OUT, UART scratch)")):
        rows.append((label, native[op], under[op], under[op] - native[op]))
    return rows


# ACPI off on both sides: with it, QEMU's firmware describes a bigger
# platform (more devices for Linux to probe) than Keel's, and the ratio
# would measure the platforms rather than the hypervisor.
LINUX_CMDLINE = "console=ttyS0 acpi=off nolapic noapic nokaslr"


def init_time(output):
    m = re.search(r"\[\s*(\d+\.\d+)\] Run /init as init process", output)
    return float(m.group(1)) if m else None


def linux_boot(r):
    """Seconds of guest time to reach init, directly and under Keel. Under
    -icount the TSC, and so Linux's clock, advances one tick per instruction,
    so the ratio is the ratio of instructions executed."""
    kernel = r.guest("vmlinuz")
    initrd = r.guest("linux-initrd.img")
    cmd = rigmod.keelhost.qemu_base(1, "512M", True) + ["-nodefaults",
        "-kernel", kernel, "-initrd", initrd, "-append", LINUX_CMDLINE + " keel.cmd=true"]
    direct = rigmod.Run(cmd, "direct-linux", 300, until=r"keel-guest: powering off")
    direct.finish()
    keel = r.boot(f"""
        [keel]
        poweroff-when-idle = yes
        [vm linux]
        kernel = vmlinuz
        initrd = linux-initrd.img
        cmdline = "{LINUX_CMDLINE} keel.cmd=true"
        memory = 256M
        """, icount=True, mem="512M", timeout=400)
    d, k = init_time(direct.output), init_time(keel.output)
    if d is None or k is None:
        sys.exit("bench: Linux did not reach init in one of the runs")
    return d, k


def memory(r, nvms=8):
    conf = "[keel]\npoweroff-when-idle = yes\n" + "".join(
        f"[vm m{i}]\nkernel = hello.elf\ncmdline = \"name=m{i} count=1 delay=1\"\nmemory = 2M\n"
        for i in range(nvms))
    run = r.boot(conf, timeout=200)
    kib = [int(k) for k in re.findall(r"started: .*, (\d+) KiB of Keel memory", run.output)]
    if len(kib) != nvms:
        sys.exit(f"bench: expected {nvms} started VMs\n{run.output}")
    return kib


# --- virtio disk and network -------------------------------------------------
# Both sides boot the same kernel and initramfs with test_linux's command line
# (ACPI on: the virtio devices' PCI interrupts are routed through it); the
# initramfs's init runs the keel.cmd= words and powers off. Direct QEMU prints
# the guest's lines as they are, Keel prefixes them with "[vm] ".
from test_linux import BASE_CMDLINE, linux_vm  # noqa: E402

GUEST_MEM = "160M"
DISK_MIB = 64  # dd moves this much each way; the disk is this big
VM_LINE = r"^(?:\[\w+\] )?"


def direct_linux(r, label, cmds, mem=GUEST_MEM, icount=False, devices=(), timeout=300):
    """Start (not wait for) the Linux guest straight in QEMU with DEVICES, running CMDS."""
    words = " ".join("keel.cmd=" + c.replace(" ", "+") for c in cmds)
    cmd = rigmod.keelhost.qemu_base(1, mem, icount) + ["-nodefaults",
        "-kernel", r.guest("vmlinuz"), "-initrd", r.guest("linux-initrd.img"),
        "-append", f"{BASE_CMDLINE} {words}"] + list(devices)
    return rigmod.Run(cmd, label, timeout, until=r"keel-guest: powering off")


DISK_PASSES = 5  # write-then-read passes per boot; the figure is their median


def dd_rates(run, what):
    """{'write': [MB/s per pass], 'read': [...]} timed by the host's clock at the
    guest's marker lines between the dd runs (Debian's busybox dd is built
    without its `copied, S seconds` line). The marker is the guest's own clock
    (ktime in ns, /proc/timer_list's `now at N nsecs`); the guest-clock rates
    go to stderr as a check. An interval includes starting dd and grep."""
    host, ns = [], []
    for _ in range(2 * DISK_PASSES + 1):
        try:
            m = run.wait_for(VM_LINE + r"now at (\d+) nsecs$", timeout=300)
        except AssertionError as e:
            run.kill()
            sys.exit(f"bench: {what}: {e}\n{run.output[-4000:]}")
        host.append(time.monotonic())
        ns.append(int(m.group(1)) / 1e9)
    run.finish(timeout=120)
    done = re.findall(VM_LINE + rf"{DISK_MIB}\+0 records out$", run.output, re.M)
    if len(done) != 2 * DISK_PASSES:
        sys.exit(f"bench: {what}: {len(done)} of {2 * DISK_PASSES} dd runs completed\n"
                 f"{run.output[-4000:]}")
    rate = lambda ts: [(DISK_MIB << 20) / (b - a) / 1e6 for a, b in zip(ts, ts[1:])]  # noqa
    wall, guest = rate(host), rate(ns)
    print(f"bench: disk {what}: MB/s by host clock {[round(x) for x in wall]}, "
          f"by guest clock {[round(x) for x in guest]}", file=sys.stderr)
    return {"write": wall[0::2], "read": wall[1::2]}


CLOCK = "grep now.at /proc/timer_list"
DD_CMDS = (CLOCK, f"for i in $(seq {DISK_PASSES}); do "
           f"dd if=/dev/zero of=/dev/vda bs=1M count={DISK_MIB} oflag=direct; {CLOCK}; "
           f"dd if=/dev/vda of=/dev/null bs=1M count={DISK_MIB} iflag=direct; {CLOCK}; done")


def disk(r, icount=False):
    """{'write'|'read': ([direct MB/s per pass], [Keel MB/s per pass])}: busybox
    dd moving DISK_MIB MiB in 1 MiB O_DIRECT requests, DISK_PASSES write-then-
    read passes per boot, timed by the host's clock (see dd_rates).

    Direct: QEMU's virtio-blk-pci on a sparse raw image (cache=writeback),
    1 vCPU. Keel: one host CPU, a `disk-size` volume of a freshly formatted
    datastore on an NVMe disk that QEMU emulates on a sparse raw image
    (cache=writeback too). Keel serves each guest request synchronously on
    the vCPU's CPU, copying through a bounce buffer, and polls the NVMe
    completion queue; QEMU's own device hands the request to its I/O thread.

    Not under -icount (icount=True is kept to show why): with
    `sleep=off`, a guest that idles while QEMU's I/O thread works has its
    clock warped to its next timer deadline, so the direct figure measured
    Linux's timer spacing (about 24 ms of guest time per 1 MiB request,
    varying run to run), while under Keel the vCPU spins in Keel's polling
    loop and is charged instructions for it. Without icount both figures are
    real-time throughput of an emulated machine on a loaded 2-CPU host:
    noisy, hence the median. The host's clock, not the guest's: over some
    `net` transfers a Linux VM's clock under Keel ran 10-15% slow against
    the host's (over these dd passes the two agree within 1%)."""
    img = r.tmpdir / "direct-disk.img"
    with open(img, "wb") as f:
        f.truncate(DISK_MIB << 20)
    run = direct_linux(r, "direct-disk", DD_CMDS, icount=icount, devices=[
        "-drive", f"file={img},if=none,id=d0,format=raw,cache=writeback",
        "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"])
    direct = dd_rates(run, "direct")

    host = r.tmpdir / "host-disk.img"
    with open(host, "wb") as f:
        f.truncate((DISK_MIB + 64) << 20)
    conf = ("[keel]\npoweroff-when-idle = yes\ndatastore = nvme0n1\ndatastore-format = yes\n" +
            linux_vm("d", *DD_CMDS, memory=GUEST_MEM,
                     extra=f"disk = bench\ndisk-size = {DISK_MIB}M"))
    run = r.boot(conf, icount=icount, smp=1, mem="512M", timeout=400, wait=False,
                 args=["--disk", f"{host},if=nvme"])
    keel = dd_rates(run, "under Keel")
    if run.status != 0 or "KEEL PANIC" in run.output:
        sys.exit(f"bench: disk under Keel: status {run.status}\n{run.output[-4000:]}")
    return {op: (direct[op], keel[op]) for op in ("write", "read")}


NET_MB = 16  # per transfer
NET_XFERS = 3  # per boot; the figure is the median of all transfers
NET_PORT = 5001


def net_cmds(peer_ip, my_ip, serve):
    """The commands of one end: the server takes NET_XFERS connections; the
    client waits for the server to answer pings, then sends NET_MB MB per
    transfer from a file in RAM, between XFER lines the host timestamps."""
    up = ["ip link set eth0 up", f"ip addr add {my_ip}/24 dev eth0"]
    if serve:
        return up + [f"for i in $(seq {NET_XFERS}); do nc -l -p {NET_PORT} >/dev/null; done"]
    return up + [
        f"head -c {NET_MB * 1000000} /dev/zero >/tmp/z",
        f"for i in $(seq 90); do ping -c 1 -W 1 {peer_ip} >/dev/null && break; done",
        f"for i in $(seq {NET_XFERS}); do sleep 2; echo XFER-start; "
        f"time -p nc {peer_ip} {NET_PORT} </tmp/z; echo XFER-end; done"]


def xfer_times(run, what):
    """Host wall-clock seconds between each XFER-start and XFER-end line, and the
    guest's own `time -p` figure for each (printed on stderr as a check)."""
    walls = []
    for _ in range(NET_XFERS):
        run.wait_for(VM_LINE + r"XFER-start$", timeout=300)
        t0 = time.monotonic()
        run.wait_for(VM_LINE + r"XFER-end$", timeout=300)
        walls.append(time.monotonic() - t0)
    return walls


def guest_reals(output):
    return [float(x) for x in re.findall(VM_LINE + r"real (\d+\.\d+)$", output, re.M)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def net(r, rounds=1):
    """(direct MB/s, Keel MB/s, each transfer's MB/s both ways) for NET_MB MB
    sent over TCP from one Linux guest to another, NET_XFERS times per boot.

    Direct: two QEMU processes (1 vCPU each, no icount), each NIC a
    virtio-net-pci whose netdev is a TCP socket between the two QEMUs.
    Keel: one QEMU with 2 CPUs running Keel with both VMs (1 vCPU each) on
    switch `lan`. -icount is of no use here: two QEMUs' instruction clocks
    are independent, and with sleep=off an idle guest's clock jumps to its
    next timer, so a receiver waiting for packets would see time warp.
    The time of a transfer is host wall-clock between the client's serial
    lines before and after it (nc ends when the server has read everything
    and closed), so it includes the emulator's speed and the host's load:
    2 host CPUs shared with everything else running. Both sides get two host
    threads for their two vCPUs. Guest `time -p` figures are printed to
    stderr as a cross-check."""
    direct_walls, keel_walls = [], []
    for n in range(rounds):
        nic = "virtio-net-pci,netdev=n0,disable-legacy=on,mac=52:54:00:00:00:{:02x}"
        sport = free_port()
        srv = direct_linux(r, f"direct-srv{n}", net_cmds("10.0.0.1", "10.0.0.2", True), devices=[
            "-netdev", f"socket,id=n0,listen=127.0.0.1:{sport}", "-device", nic.format(0xb)])
        time.sleep(2)  # let it listen before the client connects
        cli = direct_linux(r, f"direct-cli{n}", net_cmds("10.0.0.2", "10.0.0.1", False), devices=[
            "-netdev", f"socket,id=n0,connect=127.0.0.1:{sport}", "-device", nic.format(0xa)])
        walls = xfer_times(cli, "direct")
        cli.finish()
        srv.finish(timeout=60)
        print(f"bench: direct round {n}: wall {walls}, guest {guest_reals(cli.output)}",
              file=sys.stderr)
        direct_walls += walls

        conf = ("[keel]\npoweroff-when-idle = yes\n" +
                linux_vm("b", *net_cmds("10.0.0.1", "10.0.0.2", True), memory=GUEST_MEM,
                         extra="net = lan\nmac = 52:54:00:00:00:0b") +
                linux_vm("a", *net_cmds("10.0.0.2", "10.0.0.1", False), memory=GUEST_MEM,
                         extra="net = lan\nmac = 52:54:00:00:00:0a"))
        # A thread per CPU, as the direct side's two QEMUs have: keel-run would
        # otherwise run Linux on one, away from QEMU's IGNNE race, which this
        # much traffic can meet (docs/design.md, Known limits).
        run = r.boot(conf, smp=2, mem="768M", timeout=900, wait=False,
                     args=("--tcg-threads", "multi"))
        walls = xfer_times(run, "keel")
        run.finish(timeout=120)
        if run.status != 0 or "KEEL PANIC" in run.output:
            sys.exit(f"bench: net under Keel: status {run.status} (a triple fault here may be "
                     f"QEMU's IGNNE race, docs/design.md)\n{run.output[-4000:]}")
        print(f"bench: Keel round {n}: wall {walls}, guest {guest_reals(run.output)}",
              file=sys.stderr)
        keel_walls += walls
    mbs = lambda t: NET_MB / t  # noqa: E731
    return (mbs(statistics.median(direct_walls)), mbs(statistics.median(keel_walls)),
            [mbs(t) for t in direct_walls], [mbs(t) for t in keel_walls])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", nargs="*", help="exits, memory, linux, bochs, disk, net (default: all)")
    ap.add_argument("--net-rounds", type=int, default=1,
                    help="boots of each side for `net` (each boot times NET_XFERS transfers)")
    args = ap.parse_args()
    args.what = args.what or ["exits", "memory", "linux", "bochs", "disk", "net"]
    r = rigmod.Rig("bench")
    # The emulators' consoles go to stderr; stdout carries only the figures.
    quiet = contextlib.redirect_stdout(sys.stderr)
    try:
        if "exits" in args.what:
            with quiet:
                rows = exits(r)
            print("| operation | direct (no hypervisor) | under Keel | Keel's cost |")
            print("| --- | ---: | ---: | ---: |")
            for label, native, under, cost in rows:
                print(f"| {label} | {native} | {under} | **{cost}** instructions |")
            print()
        for model, label in (("tigerlake", "Intel VT-x"), ("ryzen", "AMD-V with NRIP save")):
            if "bochs" not in args.what:
                break
            with quiet:
                rows = exits(r, "bochs", model)
            print(f"Bochs {model} ({label}):")
            print("| operation | direct (no hypervisor) | under Keel | Keel's cost |")
            print("| --- | ---: | ---: | ---: |")
            for label_, native, under, cost in rows:
                print(f"| {label_} | {native} | {under} | **{cost}** instructions |")
            print()
        if "linux" in args.what:
            with quiet:
                direct, keel = linux_boot(r)
            print(f"Linux boot to init (guest clock = instructions): direct {direct:.3f} s, "
                  f"under Keel {keel:.3f} s, ratio {keel / direct:.3f} "
                  f"(Keel adds {100 * (keel / direct - 1):.1f}%)")
        if "memory" in args.what:
            with quiet:
                kib = memory(r)
            print(f"Keel memory per VM (excluding RAM), 8 VMs: mean {statistics.mean(kib):.0f} KiB, "
                  f"max {max(kib)} KiB, each: {', '.join(map(str, kib))} KiB")
        if "disk" in args.what:
            with quiet:
                rates = disk(r)
            print(f"Virtio disk, busybox dd of {DISK_MIB} MiB in 1 MiB O_DIRECT requests, "
                  f"host wall clock (no icount), median of {DISK_PASSES} passes:")
            print("| direction | direct (QEMU virtio-blk) | under Keel (datastore on NVMe) | "
                  "ratio Keel / direct | passes direct; Keel |")
            print("| --- | ---: | ---: | ---: | --- |")
            for op in ("write", "read"):
                d, k = (statistics.median(x) for x in rates[op])
                each = "; ".join(", ".join(f"{x:.0f}" for x in xs) for xs in rates[op])
                print(f"| {op} | {d:.0f} MB/s | {k:.0f} MB/s | **{k / d:.2f}** | {each} |")
            print()
        if "net" in args.what:
            with quiet:
                d, k, each_d, each_k = net(r, args.net_rounds)
            fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
            print(f"Virtio network, VM to VM, {NET_MB} MB over TCP with busybox nc "
                  f"(wall clock, median of {len(each_d)} transfers each side):")
            print("| | direct (2 QEMUs, socket netdev) | under Keel (switch lan) | "
                  "ratio Keel / direct |")
            print("| --- | ---: | ---: | ---: |")
            print(f"| throughput | {d:.2f} MB/s | {k:.2f} MB/s | **{k / d:.2f}** |")
            print(f"| each transfer | {fmt(each_d)} | {fmt(each_k)} | |")
            print()
    finally:
        r.close()


if __name__ == "__main__":
    main()
