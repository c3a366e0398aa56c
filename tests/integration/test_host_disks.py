"""Host NVMe disks (drivers/nvme.c): what an operator sees at boot. Each
controller's namespace is found and logged with its size, model and serial,
and the VMs boot as they would without disks. (Data moved through the disks
is tested through the datastore, in test_disk.py.)"""

import re

from rig import timeout
from test_boot import LOG, TWO_HELLOS as HELLOS


def sparse_image(rig, name, size):
    path = rig.tmpdir / name
    with open(path, "wb") as f:
        f.truncate(size)
    return path



def assert_hellos_ran(run):
    run.assert_no_panic()
    assert run.status == 0, f"Keel did not power off (status {run.status})"
    for name in ("one", "two"):
        assert run.search(rf"^\[{name}\] RESULT: PASS hello {name} printed 3 lines$"), (
            f"no RESULT: PASS from {name}")


@timeout(120)
def test_two_nvme_disks_found_with_their_sizes(rig):
    # A 64 MiB and a 1 GiB disk (sparse files), one NVMe controller each,
    # numbered in PCI order with QEMU's serials keel0 and keel1.
    rig.only_qemu("NVMe and virtio-blk host disks")
    small = sparse_image(rig, "small.img", 64 << 20)
    big = sparse_image(rig, "big.img", 1 << 30)
    run = rig.boot(HELLOS, timeout=60,
                   args=("--disk", f"{small},if=nvme", "--disk", f"{big},if=nvme"))
    out = run.output
    assert run.search(LOG + r'nvme0n1: 131072 blocks of 512 bytes \(64 MiB\), '
                      r'model "QEMU NVMe Ctrl", serial keel0$'), "64 MiB disk not found"
    assert run.search(LOG + r'nvme1n1: 2097152 blocks of 512 bytes \(1024 MiB\), '
                      r'model "QEMU NVMe Ctrl", serial keel1$'), "1 GiB disk not found"
    assert len(re.findall(LOG + r"nvme\d+n\d+: \d+ blocks", out, re.M)) == 2
    # Nothing refused, failed or timed out on the way.
    for bad in ("refused", "failed", "timed out", "could not take", "not ready"):
        assert not re.search(LOG + rf"nvme.*{bad}", out, re.M), f"an NVMe line says {bad}"
    assert_hellos_ran(run)


@timeout(120)
def test_no_disks_no_nvme_lines(rig):
    # Without an NVMe controller the driver stays silent and Keel boots.
    rig.only_qemu("NVMe and virtio-blk host disks")
    run = rig.boot(HELLOS, timeout=60)
    assert not re.search(LOG + r"nvme", run.output, re.M), "NVMe lines with no NVMe device"
    assert_hellos_ran(run)


@timeout(120)
def test_nvme_beside_a_virtio_disk_keeps_its_number(rig):
    # A virtio-blk host disk is another driver's; the NVMe disk is still
    # nvme0n1, with the serial keel-run gave its position (keel1).
    rig.only_qemu("NVMe and virtio-blk host disks")
    virtio = sparse_image(rig, "v.img", 16 << 20)
    nvme = sparse_image(rig, "n.img", 32 << 20)
    run = rig.boot(HELLOS, timeout=60,
                   args=("--disk", f"{virtio},if=virtio", "--disk", f"{nvme},if=nvme"))
    assert run.search(LOG + r'nvme0n1: 65536 blocks of 512 bytes \(32 MiB\), '
                      r'model "QEMU NVMe Ctrl", serial keel1$'), "32 MiB NVMe disk not found"
    assert not run.search(LOG + r"nvme1"), "the virtio disk was taken for NVMe"
    assert_hellos_ran(run)
