"""virtio-console: a Linux guest's second console (/dev/hvc0), with Debian's
stock virtio_console driver. Its output lines reach Keel's log as
`[vm:hvc0] text`; the shell's `console NAME hvc` attaches the operator's
keyboard to it."""

import re

from rig import timeout
from test_linux import assert_clean_end, have_kernel, linux_vm


@timeout(300)
def test_linux_writes_and_reads_hvc0(rig):
    have_kernel(rig)
    # The reader prompts on hvc0 (no line end: Keel holds it until the
    # operator attaches) and opens /dev/hvc0 before it announces itself on
    # the serial console, so what is typed after the announcement finds the
    # port open. head must not be the command's last word (hence `; wait`):
    # ash would exec it, and the background subshell's exit then ends
    # head's tty read with EIO (on /dev/tty1 as well: Linux's doing, not
    # the device's).
    reader = ("printf hvc-prompt: >/dev/hvc0; (sleep 2; echo hvc-reader-up) & "
              "head -n1 /dev/hvc0 >/tmp/x; wait")
    vm = linux_vm("vm", "cat /sys/bus/virtio/devices/virtio0/device",
                  "ls /sys/bus/pci/devices/", "echo hello-hvc >/dev/hvc0", reader,
                  "echo got:$(cat /tmp/x)", extra="virtio-console = yes")
    run = rig.boot(vm, mem="512M", serial_input=True, timeout=600)
    run.wait_for(r"^\[vm:hvc0\] hello-hvc$", timeout=180)
    run.wait_for(r"^\[vm\] hvc-reader-up$", timeout=60)
    run.send("console vm hvc\n")
    # Attached, the console is raw: the unfinished prompt line comes first.
    run.wait_for(r"attached to vm hvc0; press Ctrl-\] to detach\nhvc-prompt:", timeout=20)
    run.send("typed-into-hvc\n")
    # Not anchored: the guest's tty echoes the typed line raw, and the
    # serial console's line may land in the middle of that echo.
    run.wait_for(r"\[vm\] got:typed-into-hvc$", timeout=60)
    # Detach, unless the guest's power-off (its last command is done) has
    # detached the console first; either way the shell says so (a late
    # Ctrl-] reaches the shell's line, which ignores control characters).
    run.send("\x1d")
    run.wait_for(r"detached from vm", timeout=20)
    run.wait_for(r"keel: vm vm: stopped: ", timeout=60)
    run.send("poweroff\n")
    run.finish(timeout=60)
    out = run.output
    assert "[vm:hvc0] hvc-prompt:" not in out, "the prompt was not shown raw on attach"
    # The device: virtio ID 3, at 00:05.0.
    assert re.search(r"^\[vm\] 0x0003$", out, re.M), "no virtio console device in the guest"
    assert re.search(r"^\[vm\] .*\b0000:00:05\.0\b", out, re.M), "not at 00:05.0"
    assert not re.search(r"typed bytes dropped", out), "input was dropped"
    assert_clean_end(run, "vm")


@timeout(180)
def test_no_virtio_console_without_the_key(rig):
    have_kernel(rig)
    run = rig.boot("[keel]\npoweroff-when-idle = yes\n" +
                   linux_vm("n", "ls /sys/bus/pci/devices/",
                            "echo virtio-devices:$(ls /sys/bus/virtio/devices/)",
                            "ls /dev/hvc0"),
                   mem="512M", timeout=700)
    out = run.output
    assert re.search(r"^\[n\] 0000:00:00\.0$", out, re.M)
    assert "0000:00:05.0" not in out
    assert re.search(r"^\[n\] virtio-devices:$", out, re.M), "a virtio device without the key"
    assert "[n:hvc0]" not in out
    assert_clean_end(run, "n")


@timeout(120)
def test_hvc_input_is_bounded_and_the_shell_checks_its_words(rig):
    # A guest with no virtio driver (spin.elf) posts no receive buffers:
    # Keel holds 512 typed bytes for it and drops the rest, counted, so the
    # operator's Ctrl-] still gets through. The spinners keep interrupts on:
    # busy guests are what this is about, and Bochs 2.7's AMD-V never
    # preempts a guest entered with interrupts off (the spinning tests in
    # test_sched cover that case on the other rigs).
    conf = ("[vm s]\nkernel = spin.elf\ncmdline = irqs=on\nmemory = 2M\n"
            "virtio-console = yes\n"
            "[vm plain]\nkernel = spin.elf\ncmdline = irqs=on\nmemory = 2M\n")
    run = rig.boot(conf, serial_input=True, timeout=100)
    run.wait_for(r"\[s\] spinning", timeout=60)
    run.shell("console plain hvc", r"plain has no virtio-console \(virtio-console = yes\)")
    run.shell("console s hvc1", r"usage: console NAME \[hvc\]")
    run.shell("console s hvc", r"attached to s hvc0; press Ctrl-\] to detach")
    run.send("x" * 600)
    run.send("\x1d")
    run.wait_for(r"detached from s\n88 typed bytes dropped so far: s's hvc0 was not reading",
                 timeout=30)
    # The serial console is still there as before.
    run.shell("console s", r"attached to s; press Ctrl-\] to detach")
    run.send("\x1d")
    run.wait_for(r"detached from s", timeout=30)
    run.send("poweroff\n")
    run.finish(timeout=60)
    run.assert_no_panic()
    assert run.status == 0
