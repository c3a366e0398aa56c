#!/usr/bin/env python3
"""Keel's test runner: unit tests, lint, then integration tests. `make test` ends here.

    python3 tests/run.py [-k PATTERN]... [--list] [-j N] [--timeout S]

Prints `PASS name`, `FAIL name (reason)` or `SKIP name (reason)` per test and
closes with one line `N passed, N failed[, N skipped]`; exits 0 iff nothing failed.
  unit/<binary>/<case>        every cmocka case of every executable build/unit/test_*
  lint                        `make -s lint-check`
  integration/<file>/<func>   every test_* function of tests/integration/test_*.py,
                              each in its own process, two at a time; logs go to
                              build/test-logs/.
"""

import argparse
import ast
import fnmatch
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UNIT_DIR = REPO / "build" / "unit"
INTEGRATION_DIR = REPO / "tests" / "integration"
LOG_DIR = REPO / "build" / "test-logs"
RIG = INTEGRATION_DIR / "rig.py"
RESULT_MARK = "@@rig-result:"
UNIT_TIMEOUT = 300
LINT_TIMEOUT = 1800
DEFAULT_TEST_TIMEOUT = 600
TAIL = 60

CMOCKA_RUN = re.compile(r"^\[ RUN      \] (.+?)\s*$")
CMOCKA_END = re.compile(r"^\[\s*(OK|FAILED|SKIPPED|ERROR)\s*\] (.+?)\s*$")
CMOCKA_DETAIL = re.compile(r"\[\s*(ERROR|LINE)\s*\] --- (.*)$")


class Report:
    """Counts results and prints one line per test (thread-safe)."""

    def __init__(self, patterns):
        self.patterns = patterns
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.lock = threading.Lock()

    def wanted(self, name):
        """True if NAME matches a -k pattern (substring, or glob with * ? [), or none was given."""
        if not self.patterns:
            return True
        return any(fnmatch.fnmatchcase(name, p) if any(c in p for c in "*?[") else p in name
                   for p in self.patterns)

    def result(self, outcome, name, reason="", detail=(), progress=""):
        """Record and print one result; DETAIL lines are printed indented below it."""
        with self.lock:
            self.counts[{"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}[outcome]] += 1
            line = f"{outcome} {name}" + (f" ({reason})" if reason else "")
            print(line + (f"  [{progress}]" if progress else ""))
            for extra in detail:
                print(f"    {extra}")
            sys.stdout.flush()

    def note(self, text):
        """A section header or other progress line."""
        with self.lock:
            print(text, flush=True)

    def summary(self):
        """The closing line."""
        c = self.counts
        return f"{c['passed']} passed, {c['failed']} failed" + (
            f", {c['skipped']} skipped" if c["skipped"] else "")


def tail(text, n=TAIL):
    """The last N lines of TEXT."""
    return text.rstrip("\n").splitlines()[-n:]


# ---------------------------------------------------------------- unit tests

def unit_binaries():
    """Executable build/unit/test_* files, sorted."""
    if not UNIT_DIR.is_dir():
        return []
    return sorted(p for p in UNIT_DIR.glob("test_*") if p.is_file() and os.access(p, os.X_OK))


def failure_reason(detail):
    """'MESSAGE at FILE:LINE' from cmocka's [ ERROR ] / [ LINE ] lines of a failed case."""
    message = location = ""
    for line in detail:
        match = CMOCKA_DETAIL.search(line)
        while match:  # a message without a newline runs into the next marker
            kind, text = match.groups()
            if kind == "LINE" and not location:
                location = text.split(": error", 1)[0]
            elif kind == "ERROR" and not message and not CMOCKA_DETAIL.search(text):
                message = text.strip()
            match = CMOCKA_DETAIL.search(text)
    if message and location:
        return f"{message} at {location}"
    return message or location or "failed"


def parse_cmocka(output):
    """[(case, outcome, reason, detail_lines)] from cmocka's standard output."""
    cases, current, detail = [], None, []
    for line in output.splitlines():
        run = CMOCKA_RUN.match(line)
        end = CMOCKA_END.match(line)
        if run:
            if current is not None:
                cases.append((current, "FAIL", "crashed", detail))
            current, detail = run.group(1), []
        elif end and current is not None and end.group(2) == current:
            outcome = {"OK": "PASS", "SKIPPED": "SKIP"}.get(end.group(1), "FAIL")
            reason = failure_reason(detail) if outcome == "FAIL" else ""
            cases.append((current, outcome, reason, detail))
            current = None
        elif current is not None:
            detail.append(line)
    if current is not None:
        cases.append((current, "FAIL", "crashed", detail))
    return cases


def describe_status(status):
    """'exit status 3' or 'killed by SIGSEGV'."""
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def run_unit(report):
    """Run every cmocka binary and report each of its cases."""
    binaries = unit_binaries()
    report.note(f"== unit tests: {len(binaries)} binaries")
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="STDOUT")
    for binary in binaries:
        base = f"unit/{binary.name}"
        try:
            proc = subprocess.run([str(binary)], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=UNIT_TIMEOUT, check=False)
            output, status = proc.stdout.decode("utf-8", "replace"), proc.returncode
        except subprocess.TimeoutExpired as exc:
            output = (exc.stdout or b"").decode("utf-8", "replace")
            status = None
        cases = parse_cmocka(output)
        for case, outcome, reason, detail in cases:
            if report.wanted(f"{base}/{case}"):
                shown = detail[-TAIL:] if outcome == "FAIL" else ()
                report.result(outcome, f"{base}/{case}", reason, shown)
        failed = any(outcome == "FAIL" for _, outcome, _, _ in cases)
        if status is None:
            if report.wanted(base):
                report.result("FAIL", base, f"timed out after {UNIT_TIMEOUT} s", tail(output))
        elif status != 0 and not failed and report.wanted(base):
            why = describe_status(status)
            why += " after its cases passed" if cases else " with no cmocka results"
            report.result("FAIL", base, why, tail(output))


# ---------------------------------------------------------------- build

def bring_build_up_to_date(report):
    """Rebuild Keel, the guests and the unit tests if a source is newer than build/.

    `make test` has just built them; a direct run after an edit would
    otherwise test the old binaries (or find a unit test that no longer
    links only in a fresh clone). False, with a FAIL line, if the build fails.
    """
    fresh = subprocess.run(["make", "-q", "all", "unit"], cwd=REPO, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if fresh.returncode == 0:
        return True
    report.note("== build/ is older than the sources: make all unit")
    proc = subprocess.run(["make", "-s", "all", "unit"], cwd=REPO, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    if proc.returncode == 0:
        return True
    report.result("FAIL", "build", f"make all unit: {describe_status(proc.returncode)}",
                  tail(proc.stdout, 30))
    return False


# ---------------------------------------------------------------- lint

def run_lint(report):
    """`make -s lint-check`: PASS, FAIL with its last lines, or SKIP if there is no such target."""
    if not report.wanted("lint"):
        return
    report.note("== lint")
    try:
        proc = subprocess.run(["make", "-s", "lint-check"], cwd=REPO, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=LINT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        report.result("FAIL", "lint", f"make lint-check took over {LINT_TIMEOUT} s")
        return
    if proc.returncode == 0:
        report.result("PASS", "lint")
    elif "No rule to make target" in proc.stdout and "lint-check" in proc.stdout:
        report.result("SKIP", "lint", "no lint-check target in the Makefile yet")
    else:
        report.result("FAIL", "lint", f"make lint-check: {describe_status(proc.returncode)}",
                      tail(proc.stdout, 30))


# ---------------------------------------------------------------- integration tests

def _timeout_of(node, default):
    """Seconds from a @timeout(N) / @rig.timeout(N) decorator on NODE, else DEFAULT."""
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and deco.args and isinstance(deco.args[0], ast.Constant):
            func = deco.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "timeout" and isinstance(deco.args[0].value, (int, float)):
                return float(deco.args[0].value)
    return default


# Tests run a second time on Bochs with its Intel VT-x CPU model (tigerlake),
# so every run covers both backends. Bochs is several times slower than QEMU:
# this subset covers the VT-x exit handlers (port I/O, EPT violation, triple
# fault, external interrupts and preemption, interrupt windows, the crash
# path, and a Linux boot with ACPI power-off) in a few minutes; `make test-full` runs every test on Bochs.
BOCHS_SUBSET = (
    "test_vms/test_vms_run_side_by_side",
    "test_vms/test_flat_binary_runs_at_its_load_address",
    "test_isolation/test_out_of_bounds_access_stops_only_that_vm",
    "test_isolation/test_triple_fault_stops_only_that_vm",
    "test_sched/test_spin_does_not_starve_hello_on_one_cpu",
    "test_config/test_config_errors_leave_out_only_bad_vms",
    "test_crash/test_fault_in_keel_prints_a_crash_report",
    "test_qemu_compat/test_fw_cfg_and_exit_status_match_qemu",
    "test_qemu_compat/test_string_port_io_like_the_cpu",
    "test_isolation/test_memory_is_zeroed_between_vms",
    "test_shell/test_shell_console_attach_detach",
    "test_shell/test_shell_stop_and_start_again",
    "test_sched/test_pinned_vms_run_on_their_cpus",
    "test_linux/test_linux_boots_to_busybox_and_runs_commands",
    "test_apic/test_local_apic_x2apic_timers_and_nmi",
    "test_apic/test_init_stops_a_running_vcpu_and_clears_its_events",
    "test_virtio/test_hostile_rings_are_refused_and_harm_nothing",
)
# On Bochs' AMD model (ryzen: AMD-V with NRIP save and flush-by-ASID), the
# SVM paths QEMU lacks. Not the spinning or triple-fault tests: Bochs 2.7
# neither preempts a guest entered with interrupts off there nor reports its
# triple fault (it stops the emulator).
BOCHS_RYZEN_SUBSET = (
    "test_vms/test_vms_run_side_by_side",
    "test_isolation/test_out_of_bounds_access_stops_only_that_vm",
    "test_qemu_compat/test_fw_cfg_and_exit_status_match_qemu",
    "test_qemu_compat/test_string_port_io_like_the_cpu",
    "test_config/test_config_errors_leave_out_only_bad_vms",
    "test_apic/test_local_apic_x2apic_timers_and_nmi",
    "test_apic/test_init_stops_a_running_vcpu_and_clears_its_events",
    "test_virtio/test_hostile_rings_are_refused_and_harm_nothing",
)
# `make test-full` (--bochs all) runs every test on ryzen too, but these:
# each has a VM spin with interrupts off (which Bochs 2.7's AMD-V never
# preempts) or triple-fault (which stops that emulator). QEMU runs them on
# AMD-V and Bochs tigerlake on VT-x.
BOCHS_RYZEN_EXCLUDE = (
    "test_boot/test_keel_run_timeout_status_3",
    "test_crash/test_fault_in_keel_prints_a_crash_report",
    "test_crash/test_panic_stops_every_cpu_and_says_why",
    "test_crash/test_debug_commands_are_off_by_default",
    "test_isolation/test_triple_fault_stops_only_that_vm",
    "test_linux/test_reboot_restarts_only_that_vm",
    "test_sched/test_spin_does_not_starve_hello_on_one_cpu",
    "test_sched/test_spin_does_not_starve_hello_pinned_together",
    "test_sched/test_weights_share_a_cpu",
    "test_sched/test_cap_limits_cpu_time",
    "test_shell/test_shell_list_pause_resume",  # the paused talker runs on to its next exit
)
BOCHS_SLOWDOWN = 4


def integration_tests(default_timeout, bochs="subset"):
    """[(name, file, function, timeout, rig)] found by reading (not importing) the test
    files: every test on QEMU, and the Bochs subset (or all, or none) on Bochs."""
    tests = []
    for file in sorted(INTEGRATION_DIR.glob("test_*.py")):
        tree = ast.parse(file.read_text(), filename=str(file))
        file_default = default_timeout
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                if any(getattr(t, "id", "") == "TIMEOUT" for t in node.targets):
                    file_default = float(node.value.value)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                limit = _timeout_of(node, file_default)
                tests.append((f"integration/{file.stem}/{node.name}", file, node.name, limit,
                              "qemu"))
                if bochs == "all" or (bochs == "subset" and
                                      f"{file.stem}/{node.name}" in BOCHS_SUBSET):
                    tests.append((f"integration-bochs/{file.stem}/{node.name}", file,
                                  node.name, limit * BOCHS_SLOWDOWN, "bochs"))
                key = f"{file.stem}/{node.name}"
                if (bochs == "subset" and key in BOCHS_RYZEN_SUBSET) or (
                        bochs == "all" and key not in BOCHS_RYZEN_EXCLUDE):
                    tests.append((f"integration-bochs-ryzen/{file.stem}/{node.name}", file,
                                  node.name, limit * BOCHS_SLOWDOWN, "bochs-ryzen"))
    return tests


class Children:
    """The test processes running now, so an interrupted runner can stop them."""

    def __init__(self):
        self.procs = set()
        self.lock = threading.Lock()

    def add(self, proc):
        with self.lock:
            self.procs.add(proc)

    def discard(self, proc):
        with self.lock:
            self.procs.discard(proc)

    def kill_all(self):
        with self.lock:
            for proc in self.procs:
                kill_group(proc)


CHILDREN = Children()


def kill_group(proc):
    """SIGTERM the test's process group (the rig then stops its emulators), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def run_integration_test(name, file, function, limit, rig="qemu"):
    """Run one test in its own process group; return (outcome, reason, output, seconds)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1",
               KEEL_RIG=rig.split("-")[0])
    if rig == "bochs-ryzen":
        env["KEEL_BOCHS_CPU"] = "ryzen"
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(RIG), str(file), function], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    CHILDREN.add(proc)
    try:
        output, _ = proc.communicate(timeout=limit)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_group(proc)
        output, _ = proc.communicate()
        timed_out = True
    finally:
        CHILDREN.discard(proc)
    text = output.decode("utf-8", "replace")
    seconds = time.monotonic() - start
    log = LOG_DIR / (name.replace("/", ".") + ".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text)
    marks = [ln for ln in text.splitlines() if ln.startswith(RESULT_MARK)]
    if timed_out:
        return "FAIL", f"timed out after {limit:g} s", text, seconds
    if not marks:
        return "FAIL", f"test process died ({describe_status(proc.returncode)})", text, seconds
    outcome, _, reason = marks[-1][len(RESULT_MARK):].strip().partition(" ")
    return outcome, reason, text, seconds


def run_integration(report, jobs, default_timeout, bochs="subset"):
    """Run the selected integration tests JOBS at a time."""
    tests = [t for t in integration_tests(default_timeout, bochs) if report.wanted(t[0])]
    report.note(f"== integration tests: {len(tests)}, {jobs} at a time (logs in "
                f"{LOG_DIR.relative_to(REPO)}/)")
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_integration_test, *t): t[0] for t in tests}
        try:
            for future in as_completed(futures):
                outcome, reason, text, seconds = future.result()
                done += 1
                detail = tail(text) if outcome == "FAIL" else ()
                report.result(outcome, futures[future], reason, detail,
                              progress=f"{done}/{len(tests)}, {seconds:.1f} s")
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            CHILDREN.kill_all()
            raise


# ---------------------------------------------------------------- main

def list_tests(default_timeout, report, bochs="subset"):
    """Print the names -k can select (unit cases are known only once run)."""
    names = [f"unit/{b.name}/*" for b in unit_binaries()] + ["lint"]
    names += [t[0] for t in integration_tests(default_timeout, bochs)]
    for name in names:
        if report.wanted(name) or report.wanted(name.rstrip("/*")):
            print(name)


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main(argv=None):
    """Entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", dest="patterns", action="append", default=[], metavar="PATTERN",
                    help="run only tests whose name contains PATTERN (or matches it as a glob)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="integration tests at once (2)")
    ap.add_argument("--bochs", choices=("subset", "all", "none"), default="subset",
                    help="which integration tests also run on Bochs' Intel VT-x model (subset)")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TEST_TIMEOUT,
                    help=f"seconds per integration test without @timeout ({DEFAULT_TEST_TIMEOUT})")
    args = ap.parse_args(argv)
    report = Report(args.patterns)
    signal.signal(signal.SIGTERM, _interrupt)  # stopped from outside: stop the tests too
    if args.list:
        list_tests(args.timeout, report, args.bochs)
        return 0
    try:
        if not bring_build_up_to_date(report):
            print(report.summary(), flush=True)
            return 1
        run_unit(report)
        run_lint(report)
        run_integration(report, args.jobs, args.timeout, args.bochs)
    except KeyboardInterrupt:
        CHILDREN.kill_all()
        print("interrupted", flush=True)
        print(report.summary(), flush=True)
        return 130
    print(report.summary(), flush=True)
    return 1 if report.counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
