#!/usr/bin/env python3
"""Keel's measurements (make bench). Deterministic: instruction counts under
QEMU `-icount shift=0,sleep=off`, where the guest's TSC advances one tick per
instruction executed (guest and hypervisor alike), so every figure is an
instruction count and repeats exactly.

  exits   the cost of a CPUID and a port-I/O exit round trip seen from a guest:
          the bench guest's ticks per operation under Keel minus the same
          guest's ticks booted directly by QEMU with no hypervisor.
  memory  Keel memory each additional VM costs, excluding its RAM, as Keel
          reports it when starting eight small VMs.

Prints a Markdown table ready for docs/performance.md.
"""
import argparse
import contextlib
import re
import statistics
import sys
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", nargs="*", help="exits, memory, linux, bochs (default: all)")
    args = ap.parse_args()
    args.what = args.what or ["exits", "memory", "linux", "bochs"]
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
    finally:
        r.close()


if __name__ == "__main__":
    main()
