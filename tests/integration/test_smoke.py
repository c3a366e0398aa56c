"""Smoke test of the test tooling itself, with no Keel involved.

Boots the XTF-style guest build/guests/hello.elf straight in QEMU (-kernel,
Multiboot v1) and looks for its result line: if this fails, the rig, QEMU or
the guest build is broken, not the hypervisor.
"""

from rig import timeout


@timeout(120)
def test_direct_hello(rig):
    """hello.elf prints RESULT: PASS on COM1 when QEMU boots it directly."""
    run = rig.boot_direct("hello.elf", timeout=60)
    assert run.search(r"RESULT: PASS"), (
        f"no 'RESULT: PASS' from hello.elf (QEMU status {run.status}, "
        f"timed out: {run.timed_out})\n{run.errors}")
