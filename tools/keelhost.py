"""Host-side helpers shared by tools/keel-run, tools/mkiso and tests/integration/rig.py.

Three jobs: find the files a Keel configuration names (the boot modules),
build the emulator command lines, and stage a GRUB ISO. Python 3 standard
library only.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
GUESTS = BUILD / "guests"
KEEL32 = BUILD / "keel32.elf"  # Multiboot v1 container, for QEMU -kernel
KEEL64 = BUILD / "keel.elf"  # Multiboot2 image, for GRUB
OVMF = Path("/usr/share/ovmf/OVMF.fd")
QEMU = "qemu-system-x86_64"
BOCHS = "bochs"
BOCHS_BIOS = Path("/usr/share/bochs/BIOS-bochs-latest")
BOCHS_VGABIOS = Path("/usr/share/vgabios/vgabios.bin")
# Emulated instructions per second: the rate Bochs's clocks (PIT, LAPIC
# timer, TSC) advance at. With `clock: sync=none` time is counted in
# instructions, so runs are repeatable; this value keeps guest time close
# to wall time on the machines in TESTING.md.
BOCHS_IPS = 50_000_000

# Keys of a [vm NAME] section whose value is a file that must travel as a
# boot module. Add new ones here (initrd, disk images, ...) as docs/config.md grows.
FILE_KEYS = ("kernel", "image", "initrd", "disk-image")

# What `apt-get install` fixes each missing piece (tools/packages.txt has them all).
PACKAGE_HINTS = {
    QEMU: "qemu-system-x86",
    "grub-mkrescue": "grub-common",
    "xorriso": "xorriso",
    "mformat": "mtools",
    "/usr/lib/grub/i386-pc": "grub-pc-bin",
    "/usr/lib/grub/x86_64-efi": "grub-efi-amd64-bin",
    str(OVMF): "ovmf",
    BOCHS: "bochs",
    str(BOCHS_BIOS): "bochsbios",
    str(BOCHS_VGABIOS): "vgabios",
}


class ToolError(Exception):
    """A problem the user must fix; the message says what and where."""


class Module:
    """One boot module: the file on the host and the name Keel knows it by."""

    def __init__(self, path, name, origin):
        self.path = Path(path)
        self.name = name
        self.origin = origin  # "config:line" that asked for it, for messages

    def __repr__(self):
        return f"Module({str(self.path)!r}, {self.name!r})"


def install_hint(what):
    """Return ' (apt-get install PKG)' for a known tool or path, else ''."""
    pkg = PACKAGE_HINTS.get(str(what))
    return f" (apt-get install {pkg}; tools/packages.txt lists everything)" if pkg else ""


def strip_comment(line):
    """LINE without its comment: '#' starts one unless inside a double-quoted string."""
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:i]
    return line


def scan_config(text):
    """Yield (line_number, key, value) for every file-naming key in a [vm] section.

    Only what the host needs is read; Keel itself validates the configuration.
    """
    in_vm = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = strip_comment(raw).strip()
        if not line:
            continue
        if line.startswith("["):
            words = line.strip("[]").split()
            in_vm = bool(words) and words[0] == "vm"
            continue
        if not in_vm or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key in FILE_KEYS and value:
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            yield number, key, value


def resolve_file(value, config_dir):
    """Find VALUE next to the configuration, then in build/guests/. None if absent."""
    candidates = [Path(value)] if os.path.isabs(value) else [config_dir / value, GUESTS / value]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    return None


def config_modules(config):
    """Return the boot modules for CONFIG: the configuration itself first.

    Raises ToolError naming config:line for a file that cannot be found, and
    for two different files that would share one module name.
    """
    config = Path(config)
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ToolError(f"cannot read configuration {config}: {exc.strerror}") from exc
    modules = [Module(config.resolve(), config.name, str(config))]
    by_name = {config.name: modules[0]}
    for number, key, value in scan_config(text):
        where = f"{config}:{number}"
        path = resolve_file(value, config.resolve().parent)
        if path is None:
            looked = value if os.path.isabs(value) else (
                f"{config.resolve().parent / value} and {GUESTS / value}")
            raise ToolError(f"{where}: {key} file '{value}' not found (looked for {looked})")
        name = Path(value).name
        if any(c.isspace() for c in str(path)):
            raise ToolError(f"{where}: path {path} contains white space, which boot loaders "
                            "cannot pass in a module command line")
        previous = by_name.get(name)
        if previous is not None:
            if previous.path != path:
                raise ToolError(f"{where}: module name '{name}' is already used by "
                                f"{previous.path} ({previous.origin})")
            continue
        by_name[name] = Module(path, name, where)
        modules.append(by_name[name])
    return modules


def require_file(path, what):
    """Raise ToolError unless PATH is a file; WHAT explains how to get it."""
    if not Path(path).is_file():
        raise ToolError(f"{path} not found: {what}{install_hint(path)}")


def require_tool(name):
    """Raise ToolError unless program NAME is on PATH."""
    if shutil.which(name) is None:
        raise ToolError(f"{name} not found{install_hint(name)}")


def is_linux_kernel(path):
    """True if PATH is a Linux kernel image: the boot protocol's "HdrS" at 0x202."""
    try:
        with open(path, "rb") as f:
            f.seek(0x202)
            return f.read(4) == b"HdrS"
    except OSError:
        return False


def tcg_threads_for(modules, smp, asked="auto"):
    """"single" or "multi": how QEMU's TCG should run SMP CPUs for MODULES.

    ASKED "auto" picks "single" when there are several CPUs and a module is
    a Linux kernel. QEMU's multi-threaded TCG (7.2 to 10.0 at least) clears
    IGNNE in the *first* CPU's hflags2 from whichever CPU thread executes
    FLDENV, FRSTOR, FXRSTOR or XRSTOR, a read-modify-write with no lock; when
    it overlaps CPU 0's own VMRUN or #VMEXIT it undoes the nested-paging flag
    those set or clear, and CPU 0 then walks a guest's page tables as host
    memory, or Keel's through the guest's nested tables (docs/design.md,
    "Known limits"). Linux guests restore x87 state all the time; test
    guests hardly ever do.
    """
    if asked != "auto":
        return asked
    if smp > 1 and any(is_linux_kernel(m.path) for m in modules):
        return "single"
    return "multi"


def qemu_base(smp=2, mem="512M", icount=False, extra_cpu="", tcg_single=False):
    """The QEMU arguments common to every run: TCG, headless, COM1 on stdio.
    TCG_SINGLE runs every CPU on one host thread, taking turns."""
    if icount:
        smp = 1  # -icount with several CPUs hangs SMP bring-up (TESTING.md)
    accel = "tcg,thread=single" if tcg_single else "tcg"
    cmd = [QEMU, "-accel", accel, "-cpu", "max" + extra_cpu, "-smp", str(smp), "-m", str(mem),
           "-machine", "pc", "-display", "none", "-no-reboot", "-serial", "stdio",
           "-monitor", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if icount:
        cmd += ["-icount", "shift=0,sleep=off"]
    return cmd


def qemu_initrd(modules):
    """The -initrd value: 'PATH NAME' per module, commas doubled as QEMU expects."""
    return ",".join(f"{m.path} {m.name}".replace(",", ",,") for m in modules)


def grub_cfg(modules, kernel_name="keel.elf"):
    """GRUB configuration: serial console, no menu delay, one Multiboot2 entry."""
    config = modules[0].name
    lines = [
        "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1",
        "terminal_input serial",
        "terminal_output serial",
        "set timeout=0",
        "set default=0",
        "",
        'menuentry "Keel" {',
        f"\tmultiboot2 /boot/{kernel_name} config={config}",
    ]
    lines += [f"\tmodule2 /boot/{m.name} {m.name}" for m in modules]
    lines += ["\tboot", "}", ""]
    return "\n".join(lines)


def make_iso(config, out, kernel=KEEL64):
    """Stage Keel, CONFIG and its modules and run grub-mkrescue to write OUT.

    Quiet on success; raises ToolError with grub-mkrescue's output (and what
    to install) on failure.
    """
    require_file(kernel, "build it with `make hv`")
    modules = config_modules(config)
    require_tool("grub-mkrescue")
    for tool in ("xorriso", "mformat"):
        require_tool(tool)
    if not Path("/usr/lib/grub/i386-pc").is_dir() and not Path("/usr/lib/grub/x86_64-efi").is_dir():
        raise ToolError("no GRUB platform files" + install_hint("/usr/lib/grub/i386-pc"))
    with tempfile.TemporaryDirectory(prefix="keel-iso-") as staging:
        boot = Path(staging) / "boot"
        (boot / "grub").mkdir(parents=True)
        shutil.copyfile(kernel, boot / "keel.elf")
        for module in modules:
            shutil.copyfile(module.path, boot / module.name)
        (boot / "grub" / "grub.cfg").write_text(grub_cfg(modules))
        result = subprocess.run(["grub-mkrescue", "-o", str(out), staging],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode != 0:
        hints = [install_hint(p).strip() for p in ("/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi")
                 if not Path(p).is_dir()]
        raise ToolError(f"grub-mkrescue failed with status {result.returncode}:\n"
                        f"{result.stdout.rstrip()}\n" + "\n".join(hints))
    return modules


def mem_mib(size):
    """SIZE as QEMU's -m takes it ("512M", "1G", "768") in MiB, for Bochs's megs:."""
    text = str(size).strip().upper().removesuffix("B")
    scale = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
    factor = scale.get(text[-1:], None)
    digits = text[:-1] if factor else text
    try:
        mib = float(digits) * (factor or 1)
    except ValueError:
        raise ToolError(f"memory size {size!r} is not a number with an optional K, M or G") from None
    if mib < 1 or mib != int(mib):
        raise ToolError(f"memory size {size!r} is not a whole number of MiB")
    return int(mib)


def bochsrc(iso, smp=1, mem=512, model="tigerlake", serial=None, serial_port=None, log=None):
    """A headless, never-interactive bochsrc booting ISO from a CD-ROM (TESTING.md).

    COM1 goes to the file SERIAL, or with SERIAL_PORT to a TCP server on
    127.0.0.1 that keel-run connects to (for typing on the console).
    """
    require_file(BOCHS_BIOS, "Bochs BIOS")
    require_file(BOCHS_VGABIOS, "VGA BIOS")
    com1 = (f"com1: enabled=1, mode=socket-server, dev=127.0.0.1:{serial_port}" if serial_port
            else f"com1: enabled=1, mode=file, dev={serial}")
    return "\n".join([
        "# Generated by tools/keel-run (--rig bochs).",
        # A triple fault in Keel ends the run instead of rebooting into GRUB.
        f"cpu: model={model}, count={smp}, ips={BOCHS_IPS}, reset_on_triple_fault=0",
        f"megs: {mem}",
        f"romimage: file={BOCHS_BIOS}",
        f"vgaromimage: file={BOCHS_VGABIOS}",
        f"ata0-master: type=cdrom, path={iso}, status=inserted",
        "boot: cdrom",
        # Headless: the RFB server listens but waits for no viewer; each
        # instance takes the next free port from 5900.
        'display_library: rfb, options="timeout=0"',
        com1,
        "port_e9_hack: enabled=1",
        "clock: sync=none, time0=946681200",
        "speaker: enabled=0",
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        f"log: {log or '/dev/null'}",
        # Nothing may stop to ask a question: a panic ends Bochs.
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
        "",
    ])


def bochs_exit_message(text):
    """The reason Bochs gives after 'Bochs is exiting with the following message:', or ''."""
    lines = text.replace("\r", "").splitlines()
    for number, line in enumerate(lines):
        if "Bochs is exiting with the following message" in line:
            for follow in lines[number + 1:]:
                if follow.strip() and not follow.startswith("===="):
                    return follow.strip()
    return ""

