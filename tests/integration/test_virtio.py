"""Virtio devices in Linux guests: Debian's stock drivers (modules the
initramfs loads) over the modern virtio-pci transport, interrupts by MSI-X."""

import re

from rig import timeout
from test_linux import assert_clean_end, have_kernel, linux_vm


@timeout(240)
def test_virtio_rng_feeds_linux_hwrng(rig):
    have_kernel(rig)
    hexdump = "head -c 32 /dev/hwrng | od -An -tx1"
    run = rig.boot("[keel]\npoweroff-when-idle = yes\n" +
                   linux_vm("r", "cat /sys/class/misc/hw_random/rng_current", hexdump, hexdump,
                            "grep virtio0 /proc/interrupts", extra="rng = yes"),
                   mem="512M", timeout=700)  # a bound, not a wait: Bochs takes minutes
    out = run.output
    assert re.search(r"^\[r\] virtio_rng\.0$", out, re.M), "Linux did not bind virtio_rng"
    rows = re.findall(r"^\[r\] ((?: [0-9a-f]{2}){16})$", out, re.M)
    assert len(rows) == 4, rows
    first, second = rows[0] + rows[1], rows[2] + rows[3]
    assert first != second, "two reads of /dev/hwrng gave the same bytes"
    assert len(set(first.split())) > 8, f"implausible random bytes: {first}"
    # The request queue's interrupts arrive as MSI-X messages.
    msi = re.search(r"^\[r\]\s+\d+:\s+(\d+)\s+.*PCI-MSI\S*\s+\S+\s+virtio0-input$", out, re.M)
    assert msi and int(msi.group(1)) > 0, "no MSI-X interrupt from the virtio-rng queue"
    assert_clean_end(run, "r")


@timeout(120)
def test_no_virtio_device_without_rng(rig):
    # Without `rng = yes` there is no virtio device on the bus.
    have_kernel(rig)
    run = rig.boot("[keel]\npoweroff-when-idle = yes\n" +
                   linux_vm("n", "ls /sys/bus/pci/devices/"), mem="512M", timeout=700)
    assert re.search(r"^\[n\] 0000:00:00\.0$", run.output, re.M)
    assert "0000:00:03.0" not in run.output
    assert_clean_end(run, "n")
