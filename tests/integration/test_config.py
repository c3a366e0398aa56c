"""Configuration mistakes as a user sees them: FILE:LINE messages; bad VMs left out, good run."""

import re
import textwrap

from rig import timeout

LOG = r"^(?:keel> )?keel: "  # a Keel log line (it may follow a shell prompt)


def numbered(text):
    """TEXT dedented, and {marker: line number} for every line ending in `# @marker`."""
    text = textwrap.dedent(text).lstrip("\n")
    marks = {}
    for number, line in enumerate(text.splitlines(), 1):
        found = re.search(r"# @(\w+)\s*$", line)
        if found:
            marks[found.group(1)] = number
    return text, marks


def config_errors(run, conf):
    """[(line, message)] of every `keel: config: CONF:LINE: message` line."""
    return [(int(m.group(1)), m.group(2)) for m in
            re.finditer(LOG + rf"config: {re.escape(conf)}:(\d+): (.*)$", run.output, re.M)]


def assert_errors(run, conf, expected):
    """Exactly the EXPECTED {line: message regex} errors were reported, then the summary."""
    got = config_errors(run, conf)
    assert sorted(line for line, _ in got) == sorted(expected), (
        f"{conf}: expected errors on lines {sorted(expected)}, got {got}")
    for line, message in got:
        assert re.match(expected[line], message), (
            f"{conf}:{line}: message {message!r} does not match {expected[line]!r}")
    count = len(expected)
    assert run.search(LOG + rf"config: {re.escape(conf)}: {count} errors?; VMs with errors are "
                      r"not created, the others are$"), f"no '{count} errors' summary line"


@timeout(180)
def test_config_errors_leave_out_only_bad_vms(rig):
    """An unknown key and a bad size are reported with their lines; only the good VM exists."""
    text, line = numbered("""
        # two broken VMs and a good one
        [keel]
        poweroff-when-idle = no

        [vm typo]
        kernel = hello.elf
        memroy = 16M                  # @typo
        memory = 16M

        [vm badsize]
        kernel = hello.elf
        cmdline = name=badsize
        memory = 64Q                  # @badsize

        [vm good]
        kernel = hello.elf
        cmdline = name=good count=3
        memory = 16M
    """)
    with rig.boot(text, name="vms", timeout=120, serial_input=True) as run:
        run.wait_for(r"\[good\] RESULT: PASS hello good printed 3 lines$", timeout=90)
        vms = run.vm_list()
        assert set(vms) == {"good"}, f"list shows {sorted(vms)}, expected only good"
        run.shell("start typo", r"no VM named 'typo'")
        run.shell("poweroff", LOG + r"powering off")
    run.assert_no_panic()
    assert_errors(run, "vms.conf", {
        line["typo"]: r"unknown key 'memroy' in \[vm typo\]",
        line["badsize"]: r"memory: '64Q' is not a size",
    })
    assert run.search(LOG + r"1 VM configured, 1 started"), "expected exactly 1 VM created"
    for bad in ("typo", "badsize"):
        assert not run.search(LOG + rf"vm {bad}:") and f"[{bad}]" not in run.output, (
            f"VM {bad} has an error but was created")
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0"


@timeout(120)
def test_config_errors_at_top_level_are_reported_and_skipped(rig):
    """Lines before the first section are reported and ignored; the rest of the file works."""
    text, line = numbered("""
        # settings must come after a section header
        timeslice = 10ms                 # @outside
        this line is not a setting       # @garbage

        [keel]
        poweroff-when-idle = yes

        [vm good]
        kernel = hello.elf
        cmdline = name=good count=3
        memory = 16M
    """)
    run = rig.boot(text, name="top", timeout=90)
    run.assert_no_panic()
    assert_errors(run, "top.conf", {
        line["outside"]: r"key 'timeslice' is outside any section",
        line["garbage"]: r"expected 'key = value' or a \[section\] header",
    })
    assert run.search(r"^\[good\] RESULT: PASS hello good printed 3 lines$"), "good VM did not pass"
    # poweroff-when-idle = yes, read after the mistakes, is what ends the run.
    assert run.search(LOG + r"all VMs have stopped"), "the [keel] section was not applied"
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0"


@timeout(120)
def test_config_error_in_header_drops_that_vm(rig):
    """A malformed [vm ...] header is reported on its line and that VM is not created."""
    text, line = numbered("""
        [keel]
        poweroff-when-idle = yes

        [vm broken                       # @header
        kernel = hello.elf
        memory = 16M

        [vm fine]
        kernel = hello.elf
        cmdline = name=fine count=2
        memory = 16M
    """)
    run = rig.boot(text, name="hdr", timeout=90)
    run.assert_no_panic()
    assert_errors(run, "hdr.conf", {line["header"]: r"section header '\[vm broken' has no "
                                                    r"closing '\]'"})
    assert run.search(r"^\[fine\] RESULT: PASS hello fine printed 2 lines$"), "fine did not pass"
    assert not run.search(LOG + r"vm broken"), "the broken VM was created"
    assert run.status == 0, f"keel-run exit status {run.status}, expected 0"
