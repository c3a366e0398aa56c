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


# What Keel says broke the queue, for each case of tests/guests/virtio_hostile.c in order.
OUTSIDE = "a buffer outside guest memory"
LOOP = "a loop in a descriptor chain"
BAD_INDIRECT = "an indirect table of a bad size or outside guest memory"
HOSTILE_REASONS = [OUTSIDE, LOOP, LOOP, "a next index beyond the table",
                   "a chain head beyond the table", OUTSIDE, OUTSIDE, BAD_INDIRECT, BAD_INDIRECT,
                   "the available index ran more than a ring ahead"]
HOSTILE = len(HOSTILE_REASONS)


@timeout(120)
def test_hostile_rings_are_refused_and_harm_nothing(rig):
    # A test guest hands its virtio-rng malformed rings (descriptors outside
    # RAM, loops, indices out of range, lengths past RAM or wrapping,
    # indirect tables outside RAM or of odd size, an available index far
    # ahead). Each must be refused with NEEDS_RESET and a log line, touch no
    # guest memory, and leave the device usable after a reset; another VM
    # runs on undisturbed.
    run = rig.boot("[keel]\npoweroff-when-idle = yes\n"
                   "[vm h]\nkernel = virtio_hostile.elf\nmemory = 8M\nrng = yes\n"
                   "[vm calm]\nkernel = hello.elf\ncmdline = \"name=calm count=5\"\n"
                   "memory = 4M\n", timeout=100)
    out = run.output
    assert len(re.findall(r"^\[h\] refused: ", out, re.M)) == HOSTILE
    reasons = re.findall(r"keel: vm h: virtio-rng: queue 0 broken by the guest \((.*)\); "
                         r"device needs reset", out)
    assert reasons == HOSTILE_REASONS, "each hostile ring refused, saying why"
    assert re.search(rf"^\[h\] RESULT: PASS virtio-rng refused {HOSTILE} hostile rings$", out,
                     re.M)
    assert re.search(r"^\[calm\] RESULT: PASS", out, re.M)
    assert "KEEL PANIC" not in out and run.status == 0


@timeout(300)
def test_two_linux_vms_ping_and_copy_a_file_over_the_switch(rig):
    # Two VMs on virtual switch "lan": b serves a 2 MB random file over HTTP
    # (busybox httpd), a pings b and fetches the file with wget; the
    # checksums printed on both sides must agree. All of it stays in Keel.
    have_kernel(rig)
    up = "ip link set eth0 up"
    server = linux_vm("b", up, "ip addr add 10.0.0.2/24 dev eth0", "mkdir /www",
                      "head -c 2000000 /dev/urandom >/www/f", "md5sum /www/f",
                      "httpd -p 80 -h /www", "sleep 20",
                      extra="net = lan\nmac = 52:54:00:00:00:0b")
    client = linux_vm("a", up, "ip addr add 10.0.0.1/24 dev eth0", "cat /sys/class/net/eth0/address",
                      "for i in $(seq 90); do ping -c 1 -W 1 10.0.0.2 >/dev/null && break; done",
                      "ping -c 3 10.0.0.2", "wget -q -O /tmp/f http://10.0.0.2/f",
                      "md5sum /tmp/f", extra="net = lan")
    run = rig.boot("[keel]\npoweroff-when-idle = yes\n" + server + client, mem="768M",
                   timeout=900)  # a bound, not a wait
    out = run.output
    assert re.search(r"^\[a\] 3 packets transmitted, 3 packets received, 0% packet loss$", out,
                     re.M), "ping between the VMs failed"
    sent = re.search(r"^\[b\] ([0-9a-f]{32})  /www/f$", out, re.M)
    got = re.search(r"^\[a\] ([0-9a-f]{32})  /tmp/f$", out, re.M)
    assert sent and got and sent.group(1) == got.group(1), "the copied file differs"
    # a's MAC is derived from its name: locally administered, stable.
    assert re.search(r"^\[a\] 52:54:00(:[0-9a-f]{2}){3}$", out, re.M)
    assert_clean_end(run, "a", "b")
