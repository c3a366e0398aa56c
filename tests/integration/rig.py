"""The rig handed to every integration test: boots Keel (or a bare guest) and reads COM1.

A test is a function in tests/integration/test_*.py:

    from rig import timeout

    @timeout(300)                      # optional; the runner's default is 600 s
    def test_hello(rig):
        run = rig.boot('''
            [vm hello]
            kernel = hello.elf          # found in build/guests/
        ''')
        assert run.status == 0, "Keel did not power off"
        assert "RESULT: PASS" in run.output

    def test_shell(rig):
        with rig.boot("shell.conf", serial_input=True) as run:   # tests/integration/shell.conf
            run.wait_for(r"keel> ", timeout=60)
            run.send("help\\n")
            run.wait_for(r"commands:")

tests/run.py runs each test in its own process (`python3 rig.py FILE FUNCTION`),
which is why this file also has a main.
"""

import atexit
import ctypes
import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
sys.dont_write_bytecode = True
import keelhost  # noqa: E402  (tools/ is on the path above)

KEEL_RUN = REPO / "tools" / "keel-run"
# The emulator rig.boot uses when a test does not name one: KEEL_RIG=bochs
# runs the suite on Bochs's VT-x model (KEEL_BOCHS_CPU=ryzen for its AMD-V
# one). Bochs runs guests several times slower than QEMU, so the waits of a
# test on it (wait_for, finish) are stretched by SLOWDOWN; keel-run's own
# --timeout is left as the test gave it (tests check it).
DEFAULT_RIG = os.environ.get("KEEL_RIG", "qemu")
BOCHS_CPU = os.environ.get("KEEL_BOCHS_CPU", "")
SLOWDOWN = {"qemu": 1, "bochs": 4}
HERE = Path(__file__).resolve().parent
RESULT_MARK = "@@rig-result:"  # last line of a test process, read by tests/run.py
SKIP_STATUS = 77
_RUNS = []  # every Run started in this process, killed at exit
# The shell's `list` answer: a header, one row per VM (VM output lines may land
# among the rows; they never look like one), then the next prompt.
LIST_TABLE = r"NAME +STATE +VCPUS +MEMORY +EXITS +CPU-MS\n((?:.*\n)*?).*?keel> "
LIST_ROW = re.compile(r"^(?P<name>[A-Za-z0-9_-]+) +(?P<state>running|paused|stopping|stopped) +"
                      r"(?P<vcpus>\d+) +(?P<memory>\d+[KMG]) +(?P<exits>\d+) +(?P<cpu_ms>\d+) *$",
                      re.M)


class Skip(Exception):
    """Raised (through Rig.skip) to report a test as skipped."""


def timeout(seconds):
    """Decorator: this test may take SECONDS (tests/run.py reads it from the source)."""
    def mark(func):
        func.timeout = seconds
        return func
    return mark


try:
    _LIBC = ctypes.CDLL(None)  # loaded now: a forked child must not import (threads)
except OSError:
    _LIBC = None


def _pdeathsig():
    """In a child before exec: die when the test process dies."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Run:
    """One emulator run: its console output so far, and a way to talk to it."""

    def __init__(self, cmd, label, timeout_s, serial_input=False, until=None, grace=2.0,
                 scale=1):
        self.cmd = cmd
        self.label = label
        self.timed_out = False  # the rig had to kill it (deadline or `until` grace)
        self._until = re.compile(until, re.M) if until else None
        self._until_at = None
        self._grace = grace
        self._deadline = time.monotonic() + timeout_s
        self.scale = scale  # wait_for and finish timeouts are multiplied by it
        self._out = []
        self._err = []
        self._pos = 0  # where the next wait_for starts looking
        self._cond = threading.Condition()
        print(f"rig: [{label}] $ {' '.join(str(c) for c in cmd)}", flush=True)
        self.proc = subprocess.Popen(
            [str(c) for c in cmd], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if serial_input else subprocess.DEVNULL,
            preexec_fn=_pdeathsig)
        _RUNS.append(self)
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self._out, ""),
                                          daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self._err, "!"),
                                          daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, sink, tag):
        """Reader thread: collect a stream, echo complete lines to the test's log."""
        pending = ""
        while True:
            data = stream.read1(65536)
            text = data.decode("utf-8", "replace").replace("\r", "")
            with self._cond:
                sink.append(text)
                self._cond.notify_all()
            pending += text
            lines = pending.split("\n")
            pending = lines.pop() if data else ""
            for line in lines:
                if data or line:
                    self._line(line, tag)
            if not data:
                return

    def _line(self, line, tag):
        """One complete line: echo it and look for the `until` pattern."""
        print(f"{self.label}{tag}| {line}", flush=True)
        if not tag and self._until and self._until_at is None and self._until.search(line):
            self._until_at = time.monotonic()

    @property
    def output(self):
        """Everything the console printed so far (COM1; keel-run's own messages are in .errors)."""
        with self._cond:
            return "".join(self._out)

    @property
    def errors(self):
        """What the emulator or keel-run wrote to stderr."""
        with self._cond:
            return "".join(self._err)

    @property
    def lines(self):
        """The output as a list of lines."""
        return self.output.splitlines()

    @property
    def status(self):
        """Exit status (keel-run's for rig.boot, QEMU's for rig.boot_direct); None if running."""
        return self.proc.poll()

    def search(self, regex):
        """The first match of REGEX (multi-line mode) in the output so far, or None."""
        return re.search(regex, self.output, re.M)

    def wait_for(self, regex, timeout=30):
        """Wait until REGEX matches output that no earlier wait_for consumed; return the match.

        Raises AssertionError if the run ends or TIMEOUT seconds pass first.
        """
        pattern = re.compile(regex, re.M)
        timeout *= self.scale
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                text = "".join(self._out)
                match = pattern.search(text, self._pos)
                if match:
                    self._pos = match.end()
                    return match
                if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                    raise AssertionError(f"[{self.label}] ended (status {self.proc.returncode}) "
                                         f"before printing {regex!r}")
                left = min(end, self._deadline) - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"[{self.label}] no {regex!r} within {timeout} s")
                self._cond.wait(min(left, 0.5))

    def send(self, text):
        """Type TEXT on COM1 (needs serial_input=True)."""
        if self.proc.stdin is None:
            raise AssertionError("send() needs a run started with serial_input=True")
        self.proc.stdin.write(text.encode() if isinstance(text, str) else text)
        self.proc.stdin.flush()

    def shell(self, command, expect, timeout=30):
        """Type COMMAND and a newline on Keel's shell; wait_for EXPECT and return the match.

        Keel echoes what is typed, and VM output may land in the middle of
        the echo, so EXPECT should match the command's answer, not its echo.
        """
        self.send(command + "\n")
        return self.wait_for(expect, timeout)

    def vm_list(self, timeout=30):
        """Run the shell's `list`; return {name: {state, vcpus, memory, exits, cpu_ms}}."""
        table = self.shell("list", LIST_TABLE, timeout).group(1)
        return {m["name"]: {"state": m["state"], "vcpus": int(m["vcpus"]),
                            "memory": m["memory"], "exits": int(m["exits"]),
                            "cpu_ms": int(m["cpu_ms"])}
                for m in LIST_ROW.finditer(table)}

    def assert_no_panic(self):
        """Fail if Keel crashed (a `KEEL PANIC` line) at any point of this run."""
        where = self.output.find("KEEL PANIC")
        assert where < 0, f"[{self.label}] Keel panicked:\n{self.output[where:where + 2000]}"

    def finish(self, timeout=None):
        """Wait for the run to end (at most TIMEOUT s, else its deadline); kill it if need be."""
        if timeout is not None:
            timeout *= self.scale
        end = self._deadline if timeout is None else min(self._deadline, time.monotonic() + timeout)
        while self.proc.poll() is None:
            now = time.monotonic()
            if self._until_at is not None and now >= self._until_at + self._grace:
                print(f"rig: [{self.label}] result seen; stopping the emulator", flush=True)
                self.kill()
                break
            if now >= end:
                print(f"rig: [{self.label}] still running after its time; killing it", flush=True)
                self.timed_out = True
                self.kill()
                break
            try:
                self.proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        for reader in self._readers:
            reader.join(timeout=5)
        print(f"rig: [{self.label}] exit status {self.proc.returncode}", flush=True)
        return self

    def kill(self):
        """Stop the run: SIGTERM (keel-run then stops its emulator), SIGKILL if that is ignored."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                return
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.finish()
        else:
            self.kill()


class Rig:
    """Per-test helper: boots Keel through tools/keel-run, or a guest directly in QEMU."""

    def __init__(self, name):
        self.name = name
        self._tmp = tempfile.TemporaryDirectory(prefix="keel-test-")
        self.tmpdir = Path(self._tmp.name)
        self._count = 0

    def skip(self, reason):
        """Stop this test and report it as skipped."""
        raise Skip(reason)

    def only_qemu(self, what):
        """Skip this test on the Bochs rig, which lacks WHAT (QEMU's devices or modes)."""
        if DEFAULT_RIG != "qemu":
            self.skip(f"needs {what}, which only the QEMU rig has")

    def guest(self, name):
        """Path of a built test guest in build/guests/ (the test fails if it is missing)."""
        path = keelhost.GUESTS / name
        assert path.is_file(), f"{path} is missing: run `make guests`"
        return path

    def config(self, text, name="test"):
        """Write configuration TEXT to NAME.conf in this test's temporary directory."""
        path = self.tmpdir / f"{name}.conf"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def _config_path(self, config, name):
        if isinstance(config, str) and ("\n" in config or "[" in config):
            return self.config(config, name)
        path = Path(config)
        if not path.is_absolute() and not path.exists():
            path = HERE / path
        return path

    def _label(self, kind):
        self._count += 1
        return f"{kind}{self._count}"

    def boot(self, config, smp=2, mem="512M", timeout=120, iso=False, uefi=False,
             serial_input=False, icount=False, rig=None, name="test", wait=None, args=()):
        """Boot Keel with CONFIG (a path, or the configuration text itself) via keel-run.

        Returns a finished Run unless serial_input (or wait=False) asks for an
        interactive one; then call wait_for / send / finish. Run.status is
        keel-run's exit status (0 powered off, 2 panic, 3 timeout, 4 emulator).
        RIG is "qemu" or "bochs"; by default KEEL_RIG's (qemu if unset).
        """
        rig = rig or DEFAULT_RIG
        scale = SLOWDOWN.get(rig, 1)
        if rig == "bochs":
            if uefi:
                self.skip("the bochs rig boots by legacy BIOS only (no UEFI)")
            if BOCHS_CPU:
                args = ("--cpu-model", BOCHS_CPU) + tuple(args)
        path = self._config_path(config, name)
        cmd = [sys.executable, KEEL_RUN, path, "--rig", rig, "--smp", smp, "--mem", mem,
               "--timeout", timeout]
        cmd += ["--iso"] * iso + ["--uefi"] * uefi + ["--icount"] * icount
        cmd += ["--serial-input"] * serial_input + list(args)
        run = Run(cmd, self._label("keel"), timeout * scale + 30, serial_input=serial_input,
                  scale=scale)
        if wait if wait is not None else not serial_input:
            run.finish()
        return run

    def boot_direct(self, kernel, append="", icount=False, timeout=60, smp=1, mem="128M",
                    until=r"^RESULT: ", serial_input=False, wait=None):
        """Boot a Multiboot v1 guest straight in QEMU, with no Keel (for baselines).

        KERNEL is a path or a name in build/guests/. Once a line matches UNTIL
        the guest has 2 s to exit by itself before it is stopped. Run.status is
        QEMU's exit status (a write of v to port 0xf4 gives (v << 1) | 1).
        """
        path = Path(kernel)
        if not path.is_absolute() and not path.exists():
            path = self.guest(str(kernel))
        cmd = keelhost.qemu_base(smp, mem, icount) + ["-kernel", path]
        if append:
            cmd += ["-append", append]
        run = Run(cmd, self._label("direct"), timeout, serial_input=serial_input, until=until)
        if wait if wait is not None else not serial_input:
            run.finish()
        return run

    def close(self):
        """Kill what is still running and remove the temporary directory."""
        for run in _RUNS:
            run.kill()
        self._tmp.cleanup()


def run_one(file, function):
    """Run one test function in this process; print the result mark; return the exit status."""
    name = f"{Path(file).stem}/{function}"
    rig = Rig(name)
    try:
        spec = importlib.util.spec_from_file_location(Path(file).stem, file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        getattr(module, function)(rig)
    except Skip as exc:
        print(f"{RESULT_MARK} SKIP {exc}", flush=True)
        return SKIP_STATUS
    except Exception as exc:  # noqa: BLE001 (any failure of the test is its result)
        traceback.print_exc(file=sys.stdout)
        first = (str(exc).strip().splitlines() or [""])[0]
        reason = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        print(f"{RESULT_MARK} FAIL {reason[:200]}", flush=True)
        return 1
    finally:
        rig.close()
    print(f"{RESULT_MARK} PASS", flush=True)
    return 0


def _kill_all():
    for run in _RUNS:
        if run.proc.poll() is None:
            run.proc.kill()


atexit.register(_kill_all)

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: rig.py TEST_FILE FUNCTION  (tests/run.py runs this)")
    sys.path.insert(0, str(HERE))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so finally: clauses run
    import rig as _rig  # one module instance, so `rig.Skip` raised by tests is caught here

    sys.exit(_rig.run_one(sys.argv[1], sys.argv[2]))
