"""The virtual switch's uplink and VLANs.

Keel drives the machine's own virtio-net NIC (keel-run --nic user: QEMU's
user network, 10.0.2.0/24, the host reachable as 10.0.2.2) and attaches it
to switch "lan" as an 802.1Q trunk (`uplink = lan eth0`). VM ports are
access ports: untagged by default, or in the VLAN `vlan =` names."""

import functools
import hashlib
import http.server
import os
import re
import threading

from rig import timeout
from test_linux import assert_clean_end, have_kernel, linux_vm


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test's log has the guest's view
        del args


def _serve(directory):
    """An HTTP server for DIRECTORY on 127.0.0.1, a free port, in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@timeout(300)
def test_linux_vm_fetches_a_file_from_the_host_through_the_uplink(rig):
    # The guest's frames leave through switch lan's uplink (Keel's
    # virtio-net driver) to QEMU's user network, which connects 10.0.2.2
    # to the host's 127.0.0.1, where this test serves a random file.
    rig.only_qemu("a host NIC (virtio-net) on a user network")
    have_kernel(rig)
    www = rig.tmpdir / "www"
    www.mkdir()
    data = os.urandom(500_000)
    (www / "f").write_bytes(data)
    server = _serve(www)
    port = server.server_address[1]
    try:
        vm = linux_vm("u", "ip link set eth0 up", "ip addr add 10.0.2.15/24 dev eth0",
                      "ping -c 2 -W 2 10.0.2.2",
                      f"for i in $(seq 30); do wget -q -O /tmp/f http://10.0.2.2:{port}/f "
                      "&& break; sleep 1; done",
                      "md5sum /tmp/f", extra="net = lan")
        run = rig.boot("[keel]\npoweroff-when-idle = yes\nuplink = lan eth0\n" + vm,
                       mem="512M", timeout=700, args=("--nic", "user"))  # a bound, not a wait
    finally:
        server.shutdown()
    out = run.output
    assert re.search(r"^keel: eth0: virtio-net, MAC 52:54:00:4b:00:01$", out, re.M)
    assert re.search(r"^keel: switch lan: uplink eth0 ", out, re.M), "no uplink attached"
    assert re.search(r"^\[u\] 2 packets transmitted, 2 packets received", out, re.M), \
        "the host's gateway did not answer pings"
    got = re.search(r"^\[u\] ([0-9a-f]{32})  /tmp/f$", out, re.M)
    assert got, "the guest did not fetch the file"
    assert got.group(1) == hashlib.md5(data).hexdigest(), "the fetched file differs"
    assert_clean_end(run, "u")


@timeout(400)
def test_vms_in_different_vlans_do_not_see_each_other(rig):
    # a and b are in VLAN 10, c in VLAN 20, all on switch lan (one subnet).
    # a reaches b; a cannot reach c; c, up all along, receives not one frame
    # (no ARP broadcast, no IPv6 multicast from a or b) and cannot reach b.
    # The order is the test's doing, not the clocks': a and b start from
    # the shell once c is up, and c counts what it received when typed to,
    # after a has stopped (three Linux boots on two CPUs do not keep time
    # with each other; on Bochs c once came up last, once counted too early).
    have_kernel(rig)
    P = r"^(?:keel> )?"  # a line may follow the shell's prompt
    up = "ip link set eth0 up"
    a = linux_vm("a", up, "ip addr add 10.0.0.1/24 dev eth0",
                 "for i in $(seq 90); do ping -c 1 -W 1 10.0.0.2 >/dev/null && break; done",
                 "ping -c 3 10.0.0.2", "echo a-cross-vlan", "ping -c 3 -W 1 10.0.0.3",
                 extra="net = lan\nvlan = 10\nautostart = no")
    b = linux_vm("b", up, "ip addr add 10.0.0.2/24 dev eth0", "sleep 90",
                 extra="net = lan\nvlan = 10\nautostart = no")
    c = linux_vm("c", up, "ip addr add 10.0.0.3/24 dev eth0", "echo c-up", "read go",
                 "echo rx=$(cat /sys/class/net/eth0/statistics/rx_packets)",
                 "ping -c 2 -W 1 10.0.0.2", extra="net = lan\nvlan = 20")
    with rig.boot("[keel]\npoweroff-when-idle = yes\n" + a + b + c, mem="1G",
                  timeout=900, serial_input=True) as run:  # a bound, not a wait
        run.wait_for(P + r"\[c\] c-up$", timeout=300)
        run.send("start b\nstart a\n")
        run.wait_for(P + r"\[a\] a-cross-vlan$", timeout=500)
        run.wait_for(P + r"keel: vm a: stopped: ", timeout=120)
        run.send("console c\n")
        run.wait_for(r"attached to c", timeout=20)
        run.send("go\n\x1d")  # c's `read` returns; detach again
    out = run.output
    assert re.search(P + r"\[a\] 3 packets transmitted, 3 packets received, 0% packet loss$", out,
                     re.M), "VMs in the same VLAN cannot ping each other"
    cross = re.search(P + r"\[a\] a-cross-vlan$", out, re.M)
    c_up = re.search(P + r"\[c\] c-up$", out, re.M)
    c_rx = re.search(r"rx=(\d+)$", out, re.M)
    assert cross and c_up and c_rx, "a VM did not get through its commands"
    # Not vacuous: c was up before a tried it and counted after.
    assert c_up.start() < cross.start() < c_rx.start(), "the VMs' runs did not overlap"
    # busybox ping prints a summary, or gives up when ARP fails: no replies either way.
    assert not re.search(P + r"\[a\] \d+ bytes from 10\.0\.0\.3", out, re.M), "a reached VLAN 20"
    assert not re.search(P + r"\[c\] \d+ bytes from 10\.0\.0\.2", out, re.M), "c reached VLAN 10"
    assert int(c_rx.group(1)) == 0, f"c received {c_rx.group(1)} frames from another VLAN"
    assert_clean_end(run, "a", "b", "c")
