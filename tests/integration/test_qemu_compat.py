"""Test kernels written for QEMU behave the same under Keel: the same kernel
is booted directly by QEMU and as a Keel VM, and must report the same.

The debug-exit port ends a VM with status (v << 1) | 1, which QEMU returns
as its exit status and Keel reports in the VM's stop line; fw_cfg answers as
QEMU's does."""

import re

from rig import timeout


def keel_status(run, name):
    m = re.search(rf"keel: vm {name}: stopped: exited with status (\d+)", run.output)
    assert m, f"VM {name} did not exit through the debug-exit port"
    return int(m.group(1))


@timeout(120)
def test_fw_cfg_and_exit_status_match_qemu(rig):
    direct = rig.boot_direct("fwcfg.elf", "cpus=1", timeout=60, mem="64M")
    assert re.search(r"^RESULT: PASS fw_cfg agrees: 64 MiB of RAM, 1 CPU\(s\)$", direct.output,
                     re.M), "the guest itself fails under plain QEMU"
    keel = rig.boot("[keel]\npoweroff-when-idle = yes\n"
                    "[vm fw]\nkernel = fwcfg.elf\ncmdline = \"cpus=1\"\nmemory = 64M\n",
                    timeout=60)
    assert re.search(r"^\[fw\] RESULT: PASS fw_cfg agrees: 64 MiB of RAM, 1 CPU\(s\)$",
                     keel.output, re.M)
    assert keel_status(keel, "fw") == direct.status == 1
    assert keel.status == 0 and "KEEL PANIC" not in keel.output


@timeout(120)
def test_failing_test_kernel_reports_the_same_status(rig):
    # A kernel that fails its check exits with v = 1: status 3 on both.
    direct = rig.boot_direct("fwcfg.elf", "cpus=7", timeout=60, mem="64M")
    keel = rig.boot("[keel]\npoweroff-when-idle = yes\n"
                    "[vm fw]\nkernel = fwcfg.elf\ncmdline = \"cpus=7\"\nmemory = 64M\n",
                    timeout=60)
    assert direct.status == 3
    assert keel_status(keel, "fw") == 3
    assert re.search(r"^\[fw\] RESULT: FAIL fw_cfg says 1 CPUs, expected 7$", keel.output, re.M)


@timeout(120)
def test_keel_run_returns_the_vm_status_like_qemu(rig):
    conf = ("[keel]\npoweroff-when-idle = yes\n"
            "[vm fw]\nkernel = fwcfg.elf\ncmdline = \"cpus={}\"\nmemory = 64M\n")
    for cpus, want in ((1, 1), (5, 3)):  # pass: v = 0; fail: v = 1
        direct = rig.boot_direct("fwcfg.elf", f"cpus={cpus}", timeout=60, mem="64M")
        keel = rig.boot(conf.format(cpus), timeout=60, args=["--vm-status", "fw"])
        assert direct.status == keel.status == want, (direct.status, keel.status)


@timeout(120)
def test_string_port_io_like_the_cpu(rig):
    # REP OUTSB/INSB, backwards with DF=1, and a REP long enough that Keel
    # resumes it in pieces: RSI/ECX must end where the CPU leaves them.
    direct = rig.boot_direct("strio.elf", timeout=60, mem="64M")
    assert direct.status == 1, "the guest itself fails under plain QEMU"
    keel = rig.boot("[keel]\npoweroff-when-idle = yes\n[vm s]\nkernel = strio.elf\nmemory = 4M\n",
                    timeout=60, args=["--vm-status", "s"])
    assert keel.status == 1, keel.output[-2000:]
    for line in ("strio: hello through rep outsb", "strio: writing backwards",
                 "RESULT: PASS string I/O"):
        assert re.search(rf"^\[s\] {line}$", keel.output, re.M), f"missing: {line}"
