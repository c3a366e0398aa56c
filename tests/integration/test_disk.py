"""VM disks: virtio-blk in Linux guests over volumes of Keel's datastore on a
host disk (an NVMe controller, or a virtio-blk device, under QEMU).

The host disk is a file the test keeps between Keel boots, so what one boot
wrote, the next must find: a restart of Keel is a reboot of the server."""

import hashlib
import re
import shutil
import subprocess

from rig import timeout
from test_linux import have_kernel, linux_vm

DS = "[keel]\npoweroff-when-idle = yes\ndatastore = {dev}\n{extra}\n"
META_COPIES = (0, 64 * 1024)  # byte offsets of the datastore's two metadata copies


def host_disk(rig, name="host-disk.img", size=256 << 20):
    """A sparse, zeroed host disk image in the test's directory."""
    path = rig.tmpdir / name
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def disk_args(path, kind="nvme"):
    return ("--disk", f"{path},if={kind}")


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()



@timeout(420)
def test_linux_disk_data_survives_a_power_cut_and_a_keel_restart(rig):
    # Boot 1: a blank NVMe disk becomes a datastore; a Linux VM gets a new
    # 64 MiB volume, makes a file system on it, writes files, syncs, and the
    # machine loses power (QEMU killed) before anyone unmounts anything.
    # Boot 2: Keel mounts the datastore again and a new VM reads the files.
    # Boot 3: the same disk seen through a virtio-blk host device instead.
    rig.only_qemu("NVMe and virtio-blk host disks")
    have_kernel(rig)
    disk = host_disk(rig)
    write = linux_vm("w", "mke2fs -q /dev/vda", "mkdir -p /mnt", "mount -t ext2 /dev/vda /mnt",
                     "echo keel-was-here >/mnt/hello", "head -c 3000000 /dev/urandom >/mnt/big",
                     "md5sum /mnt/big", "cat /sys/block/vda/size", "sync", "echo synced",
                     "sleep 600", extra="disk = data\ndisk-size = 64M")
    run = rig.boot(DS.format(dev="nvme0n1", extra="datastore-format = yes") + write,
                   timeout=300, wait=False, args=disk_args(disk))
    run.wait_for(r"^\[w\] synced$", timeout=240)
    run.kill()  # the power cut
    out = run.output
    assert re.search(r"keel: nvme0n1: 524288 blocks of 512 bytes \(256 MiB\)", out), out[-3000:]
    assert "keel: datastore nvme0n1: formatted" in out
    assert re.search(r"keel: datastore: volume data: 64 MiB zeroed", out)
    assert re.search(r"^\[w\] 131072$", out, re.M), "the guest's disk is not 64 MiB"
    written = re.search(r"^\[w\] ([0-9a-f]{32})  /mnt/big$", out, re.M)
    assert written, "the guest could not write its file"

    read = linux_vm("r", "mkdir -p /mnt", "mount -t ext2 /dev/vda /mnt", "cat /mnt/hello",
                    "md5sum /mnt/big", "umount /mnt", extra="disk = data")
    for kind, dev in (("nvme", "nvme0n1"), ("virtio", "vda")):
        run = rig.boot(DS.format(dev=dev, extra="datastore-format = yes") + read, timeout=300,
                       args=disk_args(disk, kind))
        out = run.output
        assert f"keel: datastore {dev}: mounted, 1 volume" in out, out[-3000:]
        assert "formatted" not in out, "Keel formatted a disk that holds a datastore"
        assert re.search(r"^\[r\] keel-was-here$", out, re.M), f"{kind}: file lost"
        assert re.search(rf"^\[r\] {written.group(1)}  /mnt/big$", out, re.M), (
            f"{kind}: /mnt/big changed across the restart")
        assert re.search(r"keel: vm r: disk data: \d+ reads, \d+ writes, \d+ flushes, 0 errors",
                         out)
        assert run.status == 0 and "KEEL PANIC" not in out


@timeout(300)
def test_new_volume_imported_from_a_raw_image(rig):
    # A raw ext2 image made on the host, given as a boot module, becomes a
    # new volume (padded with zeros to disk-size); the guest mounts it.
    rig.only_qemu("NVMe and virtio-blk host disks")
    have_kernel(rig)
    mke2fs = shutil.which("mke2fs") or "/usr/sbin/mke2fs"
    seed = rig.tmpdir / "seed"
    seed.mkdir()
    (seed / "motd").write_text("imported by keel\n")
    image = rig.tmpdir / "seed.img"
    subprocess.run([mke2fs, "-q", "-t", "ext2", "-d", str(seed), str(image), "4M"], check=True)
    disk = host_disk(rig)
    vm = linux_vm("i", "cat /sys/block/vda/size", "mkdir -p /mnt", "mount -t ext2 /dev/vda /mnt",
                  "cat /mnt/motd", "umount /mnt",
                  extra="disk = seeded\ndisk-size = 16M\ndisk-image = seed.img")
    run = rig.boot(DS.format(dev="nvme0n1", extra="datastore-format = yes") + vm, timeout=300,
                   args=disk_args(disk))
    out = run.output
    assert "keel: datastore: creating volume seeded (16 MiB from seed.img)" in out, out[-3000:]
    assert re.search(r"^\[i\] 32768$", out, re.M), "the volume is not 16 MiB"
    assert re.search(r"^\[i\] imported by keel$", out, re.M)
    assert run.status == 0


@timeout(200)
def test_datastore_is_never_formatted_or_touched_unless_allowed(rig):
    # A disk without a datastore is formatted only with datastore-format =
    # yes; a damaged datastore is never written to, whatever the setting;
    # a torn update (one metadata copy damaged) is repaired from the other.
    rig.only_qemu("NVMe and virtio-blk host disks")
    disk = host_disk(rig, size=64 << 20)
    hello = ("[vm h]\nkernel = hello.elf\ncmdline = \"name=h count=2\"\nmemory = 4M\n"
             "disk = vol\ndisk-size = 8M\n")
    blank = digest(disk)
    run = rig.boot(DS.format(dev="nvme0n1", extra="") + hello, args=disk_args(disk))
    assert ("keel: datastore nvme0n1: the device holds no datastore; add 'datastore-format = "
            "yes'") in run.output
    assert "keel: vm h: disk vol: no datastore is mounted" in run.output
    assert digest(disk) == blank, "Keel wrote to a disk it was not allowed to format"

    run = rig.boot(DS.format(dev="nvme0n1", extra="datastore-format = yes") + hello,
                   args=disk_args(disk))
    assert "keel: datastore nvme0n1: formatted" in run.output
    assert re.search(r"^\[h\] RESULT: PASS", run.output, re.M)

    # Damage copy A only: the next mount repairs it from copy B.
    with open(disk, "r+b") as f:
        f.seek(META_COPIES[0] + 20)
        f.write(b"\xff\xff")
    run = rig.boot(DS.format(dev="nvme0n1", extra="") + hello, args=disk_args(disk))
    assert re.search(r"keel: datastore nvme0n1: copy A of the metadata is stale or damaged "
                     r"\(header checksum mismatch\); rewriting it", run.output), run.output[-2000:]
    assert "keel: datastore nvme0n1: mounted, 1 volume" in run.output
    assert re.search(r"^\[h\] RESULT: PASS", run.output, re.M)

    # Damage both: Keel refuses to mount, even with datastore-format = yes.
    with open(disk, "r+b") as f:
        for at in META_COPIES:
            f.seek(at + 20)
            f.write(b"\xff\xff")
    damaged = digest(disk)
    run = rig.boot(DS.format(dev="nvme0n1", extra="datastore-format = yes") + hello,
                   args=disk_args(disk))
    assert ("keel: datastore nvme0n1: damaged, not mounted and not touched (copy A: header "
            "checksum mismatch; copy B: header checksum mismatch)") in run.output
    assert "keel: vm h: disk vol: no datastore is mounted" in run.output
    assert digest(disk) == damaged, "Keel wrote to a damaged datastore"
    assert "KEEL PANIC" not in run.output


@timeout(200)
def test_shell_lists_disks_volumes_and_nics(rig):
    # `disks` shows the host disks, the datastore and which VM has which
    # volume open; `nics` the host NICs. A second VM naming a volume in use
    # does not start, and says who has it.
    rig.only_qemu("NVMe and virtio-blk host disks")
    disk = host_disk(rig, size=128 << 20)
    spare = host_disk(rig, "spare.img", size=32 << 20)
    vms = ("[vm a]\nkernel = hello.elf\ncmdline = \"name=a count=1000000\"\nmemory = 4M\n"
           "disk = shared\ndisk-size = 8M\n"
           "[vm b]\nkernel = hello.elf\ncmdline = \"name=b count=2\"\nmemory = 4M\n"
           "disk = shared\nautostart = no\n")
    run = rig.boot("[keel]\ndatastore = nvme0n1\ndatastore-format = yes\n" + vms,
                   serial_input=True, timeout=150,
                   args=disk_args(disk) + disk_args(spare, "virtio") + ("--nic", "user"))
    with run:
        run.wait_for(r"shell on COM1 \(type 'help'\)", timeout=90)
        run.shell("disks", r"HOST-DISK +BLOCK +SIZE-MIB\n")
        run.wait_for(r"^nvme0n1 +512 +128$", timeout=10)
        run.wait_for(r"^vda +512 +32$", timeout=10)
        run.wait_for(r"^datastore on nvme0n1: 128 MiB, 119 MiB free, generation 2$", timeout=10)
        run.wait_for(r"^shared +8 a$", timeout=10)
        run.shell("nics", r"HOST-NIC +MAC +RX +TX +RX-DROP +TX-DROP\n")
        run.wait_for(r"^eth0 +52:54:00:4b:00:01 +\d+ +\d+ +\d+ +\d+$", timeout=10)
        run.shell("start b", r"keel: vm b: volume shared is in use by vm a")
        run.shell("poweroff", r"keel: powering off")
        run.finish(timeout=60)
    assert "KEEL PANIC" not in run.output
