"""Runs: the task contract end to end - argument resolution, the child process (argv, stdin,
environment, output streams, status channel), outcomes, stop, timeout and queues."""
import json
import signal
import os
import sqlite3
import sys
import time
import unittest
import uuid
from datetime import datetime

import skedtest
from skedtest import CheckedSked as Sked, pids_with_env, sh_task, task_file, wait_for

FAST = ["--shutdown-grace", "1s", "--stop-grace", "2s"]

# Dumps what a task receives: stdin (as the run's output), its environment and argv.
ECHO = sh_task("echo", r'''
code=$1
stdin=$(cat)
printf '{"output":%s}\n' "$stdin" >&3
env | sed 's/^/ENV /'
for a; do echo "ARG[$a]"; done
exit "${code:-0}"
''', extra_argv=["{{exit}}", "{{name}}", "--count={{count}}", "{{flag}}", "{{missing}}", "{{since}}"],
    arguments={"type": "object", "properties": {
        "since": {"type": "string", "format": "date-time"},
        "exit": {"type": "integer", "minimum": 0, "default": 0},
        "name": {"type": "string", "default": "world"},
        "count": {"type": "integer", "minimum": 1, "default": 3},
        "flag": {"type": "boolean"},
        "missing": {"type": "string"},
        "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"}}},
    env={"EXTRA_VAR": "from-task-file"})

# Waits until the file "go" appears in its working directory (the tasks folder).
GATED = sh_task("gated", r'''
echo "waiting for go"
touch "started-$SKED_RUN_ID"
while [ ! -e go ]; do sleep 0.05; done
echo "released"
''')


def parse_time(s):
    return datetime.fromisoformat(s)


def env_of(lines):
    env = {}
    for l in lines:
        m = l["message"]
        if m.startswith("ENV ") and "=" in m:
            k, _, v = m[4:].partition("=")
            env[k] = v
    return env


def argv_of(lines):
    return [l["message"][4:-1] for l in lines if l["message"].startswith("ARG[")]


def by_message(lines):
    return {l["message"]: l for l in lines}


class RunBasics(unittest.TestCase):
    def test_success_with_levels_counters_and_output(self):
        levels = sh_task("levels", r'''
echo "plain stdout"
echo "plain stderr" >&2
echo "<3>prefixed error"
echo "<4>prefixed warning"
echo "<6>prefixed info on stderr" >&2
echo "<7>prefixed debug"
echo "<2>prefixed critical"
printf 'no newline at the end'
printf '{"progress":{"done":3,"total":3}}\n' >&3
printf '{"entries":{"total":3,"inserted":2,"updated":1,"errored":0}}\n' >&3
printf '{"message":"levels done","output":{"answer":42,"list":[1,"two",null]}}\n' >&3
''')
        with Sked(tasks={"levels.json": levels}, args=FAST) as s:
            job = s.create_job("levels")
            run = s.run_job(job["id"])
            # an idle queue: the run is stored claimed and answered RUNNING, started as created
            self.assertEqual(run["status"], "RUNNING")
            self.assertEqual(run["started_at"], run["created"])
            self.assertEqual(s.get_run(run)["started_at"], run["created"])
            done = s.wait_run(run)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["exit_code"], 0)
            self.assertEqual(done["message"], "levels done")
            self.assertEqual(done["output"], {"answer": 42, "list": [1, "two", None]})
            self.assertEqual(done["progress"], {"done": 3, "total": 3})
            self.assertEqual((done["total_entries"], done["inserted_entries"],
                              done["updated_entries"], done["errored_entries"]), (3, 2, 1, 0))
            self.assertIsNotNone(done["started_at"])
            self.assertIsNotNone(done["finished_at"])
            self.assertLessEqual(parse_time(done["started_at"]), parse_time(done["finished_at"]))
            lines = by_message(s.all_logs(done))
            expect = {
                "plain stdout": ("INFO", "stdout"),
                "plain stderr": ("ERROR", "stderr"),
                "prefixed error": ("ERROR", "stdout"),
                "prefixed warning": ("WARNING", "stdout"),
                "prefixed info on stderr": ("INFO", "stderr"),
                "prefixed debug": ("DEBUG", "stdout"),
                "prefixed critical": ("CRITICAL", "stdout"),
                "no newline at the end": ("INFO", "stdout"),
            }
            for msg, (level, stream) in expect.items():
                self.assertIn(msg, lines, "missing log line %r in %s" % (msg, list(lines)))
                self.assertEqual((lines[msg]["level"], lines[msg]["stream"]), (level, stream), msg)
            self.assertEqual(len(lines), len(expect), "unexpected extra lines: %s" % list(lines))
            seqs = sorted(l["seq"] for l in lines.values())
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)))

    def test_example_sync_records_partial_success(self):
        with Sked(args=FAST) as s:  # the repository's own tasks.d
            job = s.create_job("sync_records", args={"records": 20, "reject_every": 5})
            done = s.wait_run(s.run_job(job["id"]))
            self.assertEqual(done["status"], "PARTIAL_SUCCESS", done)
            self.assertEqual(done["errored_entries"], 4)
            self.assertEqual(done["total_entries"], 20)
            self.assertEqual(done["output"], {"inserted": 11, "updated": 5, "rejected": 4})
            warnings = [l for l in s.all_logs(done) if l["level"] == "WARNING"]
            self.assertEqual(len(warnings), 4)

    def test_partial_success_from_errored_counter(self):
        partial = sh_task("partial", r'''
echo "<4>record 7 rejected"
printf '{"entries":{"total":10,"inserted":6,"updated":2,"errored":2}}\n' >&3
''')
        clean = sh_task("clean", r'''
printf '{"entries":{"total":10,"inserted":10,"updated":0,"errored":0}}\n' >&3
''')
        with Sked(tasks={"p.json": partial, "c.json": clean}, args=FAST) as s:
            p = s.wait_run(s.run_job(s.create_job("partial")["id"]))
            self.assertEqual(p["status"], "PARTIAL_SUCCESS", p)
            self.assertEqual(p["exit_code"], 0)
            self.assertEqual(p["message"], "2 of 10 entries failed")
            c = s.wait_run(s.run_job(s.create_job("clean")["id"]))
            self.assertEqual(c["status"], "SUCCESS", c)

    def test_failed_with_exit_status_and_last_error_lines(self):
        failing = sh_task("failing", r'''
echo "working"
for i in 1 2 3 4 5 6 7; do echo "problem $i" >&2; done
echo "<4>only a warning"
exit 3
''')
        reporting = sh_task("reporting", r'''
printf '{"message":"could not reach the catalogue"}\n' >&3
echo "<3>connection refused"
exit 1
''')
        killed = sh_task("killed", "echo going; kill -9 $$")
        realtime = sh_task("realtime", "kill -40 $$")  # SIGRTMIN is 34 with glibc
        with Sked(tasks={"f.json": failing, "r.json": reporting, "k.json": killed,
                         "rt.json": realtime}, args=FAST) as s:
            f = s.wait_run(s.run_job(s.create_job("failing")["id"]))
            self.assertEqual(f["status"], "FAILED", f)
            self.assertEqual(f["exit_code"], 3)
            msg = f["message"]
            self.assertTrue(msg.startswith("exited with status 3"), msg)
            for i in (3, 4, 5, 6, 7):
                self.assertIn("problem %d" % i, msg)
            self.assertNotIn("problem 2", msg)  # only the last error lines
            self.assertNotIn("only a warning", msg)
            sked_lines = [l for l in s.all_logs(f) if l["stream"] == "sked"]
            self.assertEqual([(l["level"], l["message"]) for l in sked_lines],
                             [("ERROR", "exited with status 3")])

            r = s.wait_run(s.run_job(s.create_job("reporting")["id"]))
            self.assertEqual(r["status"], "FAILED", r)
            self.assertTrue(r["message"].startswith(
                "exited with status 1: could not reach the catalogue\n"), r["message"])
            self.assertIn("connection refused", r["message"])

            k = s.wait_run(s.run_job(s.create_job("killed")["id"]))
            self.assertEqual(k["status"], "FAILED", k)
            self.assertEqual(k["exit_code"], 137)
            self.assertTrue(k["message"].startswith("killed by signal 9 (SIGKILL)"), k["message"])
            # glibc has no name for the real-time signals
            rt = s.wait_run(s.run_job(s.create_job("realtime")["id"]))
            self.assertEqual((rt["status"], rt["exit_code"]), ("FAILED", 168))
            self.assertEqual(rt["message"], "killed by signal 40 (SIGRTMIN+6)")

    def test_missing_or_unusable_command(self):
        tasks = {
            "missing.json": skedtest.task_file("missing", ["/nonexistent/sked-test-program"]),
            "notexec.json": skedtest.task_file("notexec", ["./not-executable.sh"]),
            "notonpath.json": skedtest.task_file("notonpath", ["sked-test-no-such-program"]),
            "badcwd.json": skedtest.task_file("badcwd", ["/bin/true"], working_dir="no-such-dir"),
            "badshebang.json": skedtest.task_file("badshebang", ["./bad-shebang.sh"]),
            "not-executable.sh": "#!/bin/sh\necho should not run\n",
            "bad-shebang.sh": "#!/nonexistent/interp -x\necho should not run\n",
        }
        expect = {
            "missing": "No such file or directory",
            "notexec": "Permission denied",
            "notonpath": "No such file or directory",
            "badcwd": "no-such-dir",
            # the script is there: what is missing is named
            "badshebang": "./bad-shebang.sh: its interpreter /nonexistent/interp (its #! line) "
                          "does not exist",
        }
        with Sked(tasks=tasks, args=FAST) as s:
            os.chmod(os.path.join(s.tasks_dir, "not-executable.sh"), 0o644)
            os.chmod(os.path.join(s.tasks_dir, "bad-shebang.sh"), 0o755)
            runs = {t: s.run_job(s.create_job(t)["id"]) for t in expect}
            for t, reason in expect.items():
                done = s.wait_run(runs[t])
                self.assertEqual(done["status"], "FAILED", done)
                self.assertTrue(done["message"].startswith("cannot start"), done["message"])
                self.assertIn(reason, done["message"])
                self.assertIsNone(done["exit_code"])
                errors = [l["message"] for l in s.all_logs(done) if l["level"] == "ERROR"]
                self.assertEqual(errors, [done["message"]])
            # the server is still healthy and runs the next task
            self.assertEqual(s.get("/healthz").status, 200)


    def test_each_task_starts_in_its_own_directory_with_its_own_pipes(self):
        """Tasks started one after another (the same pipe numbers, spawn settings kept between
        starts) each read their arguments on stdin, report on fd 3 and run in their own
        working directory."""
        script = 'read -r args; printf \'{"message":"%s"}\\n\' "$(pwd)" >&3; echo "$args"'
        tasks = {"root.json": sh_task("root", script, working_dir="/"),
                 "usr.json": sh_task("usr", script, working_dir="/usr")}
        with Sked(tasks=tasks, args=FAST + ["--queues", "default=1"]) as s:
            jobs = {t: s.create_job(t, args={"n": i})["id"] for i, t in enumerate(("root", "usr"))}
            for t in ("root", "usr", "usr", "root", "usr", "root"):
                done = s.wait_run(s.run_job(jobs[t]))
                want = {"root": "/", "usr": "/usr"}[t]
                self.assertEqual(done["status"], "SUCCESS", done)
                self.assertEqual(done["message"], want)
                logs = [l["message"] for l in s.all_logs(done)]
                self.assertEqual([json.loads(l) for l in logs], [done["args"]])
                self.assertEqual(done["args"]["n"], int(t == "usr"))


class Contract(unittest.TestCase):
    def test_relative_tasks_folder_and_command_path(self):
        """--tasks given relative to sked's working directory, command relative to the task
        file's folder: the command is still found after the task's chdir."""
        tasks = {"rel.json": task_file("rel", ["../scripts/hello.sh"])}
        with Sked(tasks=tasks, args=FAST + ["--tasks", "tasks.d"]) as s:
            os.makedirs(os.path.join(s.tmp, "scripts"))
            script = os.path.join(s.tmp, "scripts", "hello.sh")
            with open(script, "w") as f:
                f.write("#!/bin/sh\necho hello from $(pwd)\n")
            os.chmod(script, 0o755)
            job = s.create_job("rel")
            run = s.wait_run(s.run_job(job["id"]))
            self.assertEqual(run["status"], "SUCCESS", run)
            msgs = by_message(s.logs(run))
            self.assertTrue(any(m.startswith("hello from") and m.endswith("tasks.d") for m in msgs), msgs)

    def test_task_env_overrides_inherited_variables_once(self):
        env_task = sh_task("envy", "env", env={"HOME": "/from-the-task-file"})
        with Sked(tasks={"envy.json": env_task}, args=FAST) as s:
            job = s.create_job("envy")
            run = s.wait_run(s.run_job(job["id"]))
            homes = [m for m in by_message(s.logs(run)) if m.startswith("HOME=")]
            self.assertEqual(homes, ["HOME=/from-the-task-file"])

    def test_task_streams_group_and_pid_with_closed_stdin_and_stdout(self):
        """A supervisor may start sked with fds 0 and 1 closed: whatever then takes those
        numbers, each task still gets its own stdin, stdout, stderr and fd 3. The task leads
        a process group of its own in sked's session, and its pid is stored with the run's
        outcome."""
        t = sh_task("fds", r"""
stdin=$(cat)
printf '{"output":%s}\n' "$stdin" >&3
echo "pid $$"
awk '{print "group", $5, "session", $6}' "/proc/$$/stat"
echo "on stderr" >&2
""", arguments={"type": "object", "properties": {"n": {"type": "integer"}}})
        with Sked(tasks={"fds.json": t}, args=FAST,
                  wrapper=["/bin/sh", "-c", 'exec "$@" <&- >&-', "sh"]) as s:
            job = s.create_job("fds")
            for n in range(3):
                run = s.wait_run(s.run_job(job["id"], args={"n": n}))
                self.assertEqual(run["status"], "SUCCESS", run)
                self.assertEqual(run["output"]["n"], n)
                lines = by_message(s.logs(run))
                self.assertEqual(lines["on stderr"]["stream"], "stderr")
                pid = [int(m[4:]) for m in lines if m.startswith("pid ")]
                self.assertEqual(len(pid), 1, lines)
                self.assertIn("group %d session %d" % (pid[0], os.getsid(s.proc.pid)), lines)
                with sqlite3.connect("file:%s?mode=ro" % s.db, uri=True) as db:
                    stored = db.execute("SELECT pid FROM run WHERE id = ?", (run["id"],)).fetchone()
                self.assertEqual(stored, (pid[0],))

    def test_a_parent_that_ignores_sigchld_changes_nothing(self):
        """A supervisor may start sked with SIGCHLD ignored, which children inherit: sked still
        learns how each task ended, and a stop still ends its run."""
        ignore = ["python3", "-c", "import os, signal, sys; "
                  "signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"]
        tasks = {"ok.json": sh_task("ok", "echo hi"), "bad.json": sh_task("bad", "exit 3"),
                 "slow.json": sh_task("slow", "sleep 30")}
        with Sked(tasks=tasks, args=FAST, wrapper=ignore) as s:
            with open("/proc/%d/status" % s.proc.pid) as f:
                ignored = int([l for l in f if l.startswith("SigIgn:")][0].split()[1], 16)
            self.assertFalse(ignored & (1 << (signal.SIGCHLD - 1)), "sked left SIGCHLD ignored")
            self.assertEqual(s.wait_run(s.run_job(s.create_job("ok")["id"]))["status"], "SUCCESS")
            bad = s.wait_run(s.run_job(s.create_job("bad")["id"]))
            self.assertEqual((bad["status"], bad["exit_code"]), ("FAILED", 3))
            slow = s.run_job(s.create_job("slow")["id"])
            wait_for(lambda: s.get_run(slow)["status"] == "RUNNING")
            s.stop_run(slow)
            self.assertEqual(s.wait_run(slow)["status"], "CANCELLED")

    def test_arguments_longer_than_a_pipe_holds(self):
        """A task's arguments go into its stdin pipe before it starts; a line longer than the
        pipe holds is written as the task reads it: whole for a task that reads it, and no
        hold on sked for one that never does."""
        reads = sh_task("reads", 'cat > "in-$SKED_RUN_ID"', arguments={"type": "object"})
        ignores = sh_task("ignores", "sleep 0.5", arguments={"type": "object"})
        # longer than a pipe holds (64 KiB), within what arguments may take (256 KiB)
        blob = "".join(chr(0x41 + i % 26) for i in range(200_000))
        with Sked(tasks={"reads.json": reads, "ignores.json": ignores}, args=FAST) as s:
            ignored = s.run_job(s.create_job("ignores")["id"], args={"blob": blob})
            # sked answers while that task holds its arguments unread
            self.assertEqual(s.get("/healthz").status, 200)
            run = s.wait_run(s.run_job(s.create_job("reads")["id"], args={"blob": blob}))
            self.assertEqual(run["status"], "SUCCESS", run)
            with open(os.path.join(s.tasks_dir, "in-" + run["id"])) as f:
                line = f.read()
            self.assertTrue(line.endswith("}\n"), line[-20:])
            self.assertEqual(json.loads(line)["blob"], blob)
            self.assertEqual(s.wait_run(ignored)["status"], "SUCCESS")

    def test_arguments_are_bounded_at_256_kib_of_json(self):
        """A job's saved args and custom args, a run's args, custom args and the custom args
        inside its args, and what a run resolves to (the job type's defaults added) are each
        refused past 256 KiB of JSON, naming the field, the limit and what to do instead."""
        big_default = "d" * 100_000
        free = sh_task("free", "cat > /dev/null", arguments={"type": "object", "properties": {
            "blob": {"type": "string"}, "extra": {"type": "string", "default": big_default}}})
        limit = 256 * 1024
        over = "x" * (limit - len('{"blob":""}') + 1)   # one byte past the limit as JSON
        at = over[:-1]                                   # exactly at it
        with Sked(tasks={"free.json": free}, args=FAST) as s:
            def refused(path, body, field, method="POST"):
                r = s.request(method, path, body)
                self.assertEqual(r.status, 400, r)
                errs = {e["field"]: " ".join(e["messages"]) for e in r.json["errors"]}
                self.assertIn(field, errs, r.json)
                self.assertIn("at most 262144 (256 KiB); pass bulk data as a path or a URL",
                              errs[field])
                return errs[field]

            self.assertIn("%d bytes as JSON" % (limit + 1),
                          refused("/api/jobs", {"title": "t", "task": "free", "args": {"blob": over}}, "args"))
            refused("/api/jobs", {"title": "t", "task": "free", "custom_args": {"blob": over}}, "custom_args")
            refused("/api/jobs", {"title": "t", "task": "free",
                                  "custom_args": json.dumps({"blob": over})}, "custom_args")
            job = s.create_job("free", args={"blob": "small"})
            url = "/api/jobs/" + job["id"]
            refused(url, {"args": {"blob": over}}, "args", method="PATCH")
            refused(url, {"custom_args": {"blob": over}}, "custom_args", method="PATCH")
            refused(url + "/runs", {"args": {"blob": over}}, "args")
            refused(url + "/runs", {"custom_args": {"blob": over}}, "custom_args")
            refused(url + "/runs", {"args": {"custom_args": json.dumps({"blob": over})}},
                    "args.custom_args")
            self.assertEqual(s.get(url + "/runs").json["hits"]["total"], 0)
            # at the limit they are taken; custom args replace the defaults
            self.assertEqual(s.patch(url, {"custom_args": {"blob": at}}).status, 200)
            run = s.wait_run(s.run_job(job["id"]))
            self.assertEqual((run["status"], len(run["args"]["blob"])), ("SUCCESS", len(at)))
            # saved arguments within it, which the job type's default takes past it
            self.assertEqual(s.patch(url, {"args": {"blob": at[:200_000]}, "custom_args": None}).status, 200)
            r = s.post(url + "/runs", {})
            self.assertEqual(r.status, 400, r)
            self.assertIn("the arguments the run would get (with the job type's defaults) are too "
                          "large", r.json["errors"][0]["messages"][0])
            self.assertEqual(s.get(url + "/runs").json["hits"]["total"], 1)

    def test_arguments_nested_past_100_levels_are_refused(self):
        """Arguments nested deeper than 100 levels (the object counting as one) are refused for
        any job type, naming the member: held a few levels further down in the documents that
        carry them (a job list's last runs, the audit trail, an export), deeper ones made those
        unreadable to the CLI's parser, so an operator's one run broke every admin's
        `job list`, `job export` and `audit`."""
        free = sh_task("free", "cat > /dev/null")

        def nested(levels):  # {"k": [[...]]} of levels levels, the arguments object counting
            v = []
            for _ in range(levels - 2):
                v = [v]
            return {"k": v}
        with Sked(tasks={"free.json": free}, args=FAST) as s:
            job = s.create_job("free")
            url = "/api/jobs/" + job["id"]
            why = ("nested deeper than 100 levels (the arguments counting as one); pass such a "
                   "value as JSON text in a string")
            for method, path, body, field in (
                    ("POST", url + "/runs", {"args": nested(101)}, "args.k"),
                    ("POST", url + "/runs", {"custom_args": nested(101)}, "custom_args.k"),
                    ("POST", url + "/runs", {"args": {"custom_args": '{"k":' + "[" * 1998 + "]" * 1998 + "}"}},
                     "args.custom_args.k"),
                    ("POST", "/api/jobs", {"title": "t", "task": "free", "args": nested(101)}, "args.k"),
                    ("PATCH", url, {"custom_args": nested(101)}, "custom_args.k")):
                r = s.request(method, path, body)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json["errors"], [{"field": field, "messages": [why]}], r)
            self.assertEqual(s.get(url + "/runs").json["hits"]["total"], 0)
            # at the limit a run is taken, and the documents that hold it a few levels down
            # stay readable by the CLI
            run = s.wait_run(s.run_job(job["id"], custom_args=nested(100)))
            self.assertEqual(run["status"], "SUCCESS", run)
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            env.update(SKED_URL=s.url, SKED_TOKEN=skedtest.TOKEN)
            for argv in (["job", "list"], ["job", "export"], ["audit"], ["runs", "--all", "--json"]):
                p = subprocess.run([skedtest.BIN] + argv, env=env, capture_output=True, text=True,
                                   timeout=60)
                self.assertEqual(p.returncode, 0, (argv, p.stderr))

    def test_a_task_that_leaves_its_own_group_is_still_stopped(self):
        """A task's process that moves itself to another process group (leaving a child in its
        own) is reached by the stop's SIGTERM and SIGKILL all the same: its run ends rather
        than staying CANCELLING, and a shutdown would not wait for it forever."""
        t = task_file("mover", [sys.executable, "-c", r"""
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    time.sleep(300)  # stays in the task's group
    os._exit(0)
r, w = os.pipe()
b = os.fork()
if b == 0:
    os.setpgid(0, 0)  # a group of its own, for the task's process to join
    os.write(w, b"x")
    time.sleep(300)
    os._exit(0)
os.read(r, 1)
os.setpgid(0, b)
print("moved", flush=True)
time.sleep(300)
"""], stop_grace="1s")
        with Sked(tasks={"mover.json": t}, args=FAST) as s:
            run = s.run_job(s.create_job("mover")["id"])
            wait_for(lambda: "moved" in [l["message"] for l in s.all_logs(run)], what="the move")
            s.stop_run(run)
            done = s.wait_run(run, timeout=20)
            self.assertEqual(done["status"], "CANCELLED", done)
            self.assertEqual(done["exit_code"], 137, done)
            wait_for(lambda: pids_with_env("SKED_RUN_ID=" + run["id"]) == [], what="no process left")

    def test_processes_of_the_tasks_group_are_not_reported_as_left_running(self):
        """Children left in the task's group are killed with it at its end: the log does not
        call them processes the task left running (those are the ones that left the group)."""
        t = sh_task("bg", "sleep 30 & sleep 30 & sleep 30 & echo hi")
        with Sked(tasks={"bg.json": t}, args=FAST) as s:
            job = s.create_job("bg")
            for _ in range(15):
                run = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(run["status"], "SUCCESS", run)
                messages = [l["message"] for l in s.all_logs(run)]
                self.assertIn("hi", messages)
                self.assertFalse([m for m in messages if "left running" in m], messages)
                wait_for(lambda: pids_with_env("SKED_RUN_ID=" + run["id"]) == [],
                         what="the group's processes gone")

    def test_a_long_error_line_keeps_whole_characters_in_the_message(self):
        """The last ERROR lines in a failed run's message are cut to 1,000 bytes between
        characters, never inside one (an invalid message made the webhook's body null)."""
        t = sh_task("accents", """printf 'x%s\\n' "$(printf 'é%.0s' $(seq 2000))" >&2; exit 4""")
        with Sked(tasks={"accents.json": t}, args=FAST) as s:
            run = s.wait_run(s.run_job(s.create_job("accents")["id"]))
            self.assertEqual(run["status"], "FAILED", run)
            first, _, last = run["message"].partition("\n")
            self.assertEqual(first, "exited with status 4")
            self.assertEqual(last, "x" + "é" * 499)

    def test_a_process_left_holding_the_output_is_killed_at_the_end(self):
        """A task that leaves a process of another session holding its stdout: at the task's
        end sked takes what was written without waiting on the pipe the process still holds
        (it would wait for the process's end), and kills it, found by the run id in its
        environment."""
        t = sh_task("leaves", r"""
setsid sh -c ': > "ready-$SKED_RUN_ID"; exec sleep 30' &
while [ ! -e "ready-$SKED_RUN_ID" ]; do sleep 0.01; done
echo started
""")
        with Sked(tasks={"leaves.json": t}, args=FAST) as s:
            run = s.wait_run(s.run_job(s.create_job("leaves")["id"]))
            self.assertEqual(run["status"], "SUCCESS", run)
            messages = [l["message"] for l in s.all_logs(run)]
            self.assertIn("started", messages)
            self.assertIn("killed 1 process(es) the task left running", messages)
            self.assertEqual(pids_with_env("SKED_RUN_ID=" + run["id"]), [])

    def test_a_process_left_holding_the_output_without_the_run_id_is_killed_too(self):
        """One that also cleared its environment (env -i, as sudo does) is found by the
        pipe it holds."""
        t = sh_task("hides", r"""
setsid env -i /bin/sh -c 'echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; exec sleep 30' "hidden-$SKED_RUN_ID" &
while [ ! -e "hidden-$SKED_RUN_ID" ]; do sleep 0.01; done
# its shell waits for mv before it becomes sleep: until then mv may be there too
while [ "$(cat /proc/$(cat "hidden-$SKED_RUN_ID")/comm)" != sleep ]; do sleep 0.01; done
echo started
""")
        with Sked(tasks={"hides.json": t}, args=FAST) as s:
            run = s.wait_run(s.run_job(s.create_job("hides")["id"]))
            self.assertEqual(run["status"], "SUCCESS", run)
            with open(os.path.join(s.tasks_dir, "hidden-" + run["id"])) as f:
                pid = int(f.read())
            messages = [l["message"] for l in s.all_logs(run)]
            self.assertIn("killed 1 process(es) the task left running", messages)

            def gone():
                try:
                    with open("/proc/%d/stat" % pid) as f:
                        return f.read().rsplit(")", 1)[1].split()[0] == "Z"
                except FileNotFoundError:
                    return True
            wait_for(gone, timeout=5, what="the hidden process's end")
    def test_a_writer_that_escaped_the_group_is_not_drained_whole_at_the_end(self):
        """A process that left the task's group still floods its stdout when the task exits:
        sked takes what the pipe held, not 256 reads of it (16 MiB of empty lines, stored at
        once on the loop: 24 s without an answer and 1.3 GB), and the writer, its pipe closed,
        ends."""
        t = sh_task("flood", "setsid sh -c \"exec yes ''\" &\nsleep 0.05")
        with Sked(tasks={"flood.json": t}, args=FAST) as s:
            run = s.wait_run(s.run_job(s.create_job("flood")["id"]), timeout=60)
            self.assertEqual(run["status"], "SUCCESS", run)
            total = s.get("/api/jobs/%s/runs/%s/logs?limit=1" % (run["job_id"], run["id"]))
            self.assertLess(total.json["hits"]["total"], 500000)
            wait_for(lambda: pids_with_env("SKED_RUN_ID=" + run["id"]) == [], what="the writer's end")

    def test_partial_entries_lines_keep_other_counters(self):
        t = sh_task("counts", r"""
printf '{"entries":{"total":10,"inserted":3}}\n' >&3
printf '{"entries":{"errored":2}}\n' >&3
""")
        with Sked(tasks={"counts.json": t}, args=FAST) as s:
            job = s.create_job("counts")
            run = s.wait_run(s.run_job(job["id"]))
            self.assertEqual(run["status"], "PARTIAL_SUCCESS")
            self.assertEqual((run["total_entries"], run["inserted_entries"], run["errored_entries"]), (10, 3, 2))
            self.assertEqual(run["message"], "2 of 10 entries failed")


class Arguments(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Sked(tasks={"echo.json": ECHO}, args=FAST).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)  # stops it and checks its exit

    def run_echo(self, job=None, expect_status="SUCCESS", **body):
        job = job or self.s.create_job("echo")
        done = self.s.wait_run(self.s.run_job(job["id"], **body))
        self.assertEqual(done["status"], expect_status, done)
        return done, self.s.all_logs(done)

    def test_a_jobs_recent_runs_in_figures(self):
        """GET /api/jobs/{id}/stats: the newest `runs` finished runs of a job counted by
        status, their success rate and their durations (nearest-rank percentiles, seconds to
        the millisecond), as the runs themselves say."""
        s = self.s
        job = s.create_job("echo")
        url = "/api/jobs/%s/stats" % job["id"]
        r = s.get(url)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"job_id": job["id"], "limit": 100, "runs": 0, "from": None, "to": None,
                                  "statuses": {}, "success_rate": None, "duration_seconds": None})
        done = [self.run_echo(job)[0] for _ in range(3)]
        done.append(self.run_echo(job, expect_status="FAILED", args={"exit": 3})[0])
        done.append(self.run_echo(job)[0])
        def secs(run):
            took = parse_time(run["finished_at"]) - parse_time(run["started_at"])
            return (took.days * 86400000000 + took.seconds * 1000000 + took.microseconds + 500) // 1000 / 1000
        def rank(v, p):
            return v[max((p * len(v) + 99) // 100, 1) - 1]
        for limit, runs in ((100, done), (2, done[-2:])):
            r = s.get(url + "?runs=%d" % limit)
            self.assertEqual(r.status, 200, r)
            d = r.json
            ok = sum(1 for x in runs if x["status"] == "SUCCESS")
            self.assertEqual((d["limit"], d["runs"], d["from"], d["to"]),
                             (limit, len(runs), runs[0]["created"], runs[-1]["finished_at"]))
            self.assertEqual(d["statuses"], {k: v for k, v in (("SUCCESS", ok), ("FAILED", len(runs) - ok)) if v})
            self.assertAlmostEqual(d["success_rate"], round(ok / len(runs), 4))
            v = sorted(secs(x) for x in runs)
            dur = d["duration_seconds"]
            self.assertEqual(dur["runs"], len(runs))
            for key, p in (("min", 0), ("p50", 50), ("p90", 90), ("p95", 95), ("max", 100)):
                self.assertAlmostEqual(dur[key], rank(v, p), places=3, msg=key)
            self.assertLessEqual(dur["min"], dur["mean"])
            self.assertLessEqual(dur["mean"], dur["max"])
        for q, word in (("runs=0", "runs"), ("runs=1001", "runs"), ("runs=many", "runs"), ("limit=5", "limit")):
            r = s.get(url + "?" + q)
            self.assertEqual(r.status, 400, (q, r))
            self.assertEqual(r.json["errors"][0]["field"], word, r.json)
        self.assertEqual(s.get("/api/jobs/%s/stats" % uuid.uuid4()).status, 404)

    def test_since_follows_the_last_successful_run(self):
        job = self.s.create_job("echo")
        first, lines = self.run_echo(job)
        self.assertIsNone(first["args"]["since"])
        self.assertEqual(env_of(lines)["SKED_SINCE"], "")
        self.assertEqual(argv_of(lines)[-1], "")

        # the run's window ends at its start, where the next run's begins: no gap, no overlap
        self.assertEqual(env_of(lines)["SKED_UNTIL"], first["started_at"])
        second, lines = self.run_echo(job)
        self.assertEqual(second["args"]["since"], first["started_at"])
        self.assertEqual(env_of(lines)["SKED_SINCE"], first["started_at"])
        self.assertEqual(env_of(lines)["SKED_UNTIL"], second["started_at"])
        self.assertEqual(argv_of(lines)[-1], first["started_at"])

        # a failed run does not move the window
        failed, _ = self.run_echo(job, expect_status="FAILED", args={"exit": 4})
        self.assertEqual(failed["args"]["since"], second["started_at"])
        fourth, lines = self.run_echo(job)
        self.assertEqual(fourth["args"]["since"], second["started_at"])
        self.assertEqual(env_of(lines)["SKED_SINCE"], second["started_at"])

        # an explicit since wins and is normalised
        explicit, lines = self.run_echo(job, args={"since": "2020-01-02T04:04:05+01:00"})
        self.assertEqual(explicit["args"]["since"], "2020-01-02T03:04:05.000000+00:00")
        self.assertEqual(env_of(lines)["SKED_SINCE"], "2020-01-02T03:04:05.000000+00:00")
        # one in the future (a mistyped year) would handle nothing: refused
        r = self.s.post("/api/jobs/%s/runs" % job["id"], {"args": {"since": "2062-01-02T03:04:05Z"}})
        self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "args.since"), r)
        self.assertIn("is in the future", r.json["errors"][0]["messages"][0])

        # the job's default_args shows what the next run would get
        j = self.s.get("/api/jobs/%s" % job["id"]).json
        self.assertEqual(json.loads(j["default_args"])["since"], explicit["started_at"])

        # saved in the future, every run would handle nothing: refused when saved, as for a
        # run; one saved before sked refused it fails each run's request instead
        for method in ("PATCH", "PUT"):
            body = {"args": {"since": "2099-01-01"}}
            if method == "PUT":
                body.update(title=job["title"], task=job["task"])
            r = self.s.request(method, "/api/jobs/" + job["id"], body)
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "args.since"), r)
            self.assertEqual(r.json["errors"][0]["messages"],
                             ["2099-01-01 is in the future: a run handles what changed since "
                              "then, and nothing has yet"])
        r = self.s.post("/api/jobs", {"title": "later", "task": "echo",
                                      "args": {"since": "2099-01-01T00:00:00Z"}})
        self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "args.since"), r)
        db = sqlite3.connect(self.s.db, timeout=10)
        db.execute("UPDATE job SET run_args = json_set(run_args, '$.since', "
                   "'2099-01-01T00:00:00.000000+00:00') WHERE id = ?", (job["id"],))
        db.commit()
        db.close()
        r = self.s.post("/api/jobs/%s/runs" % job["id"], {})
        self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "args.since"), r)
        self.assertIn("is in the future", r.json["errors"][0]["messages"][0])
        self.assertEqual(self.s.patch("/api/jobs/" + job["id"], {"args": {}}).status, 200)

    def test_since_is_the_newest_successful_run_as_stored(self):
        """The store keeps each job's last successful start between runs: an older run ending
        after a newer one, a deleted run and a change written by another connection must all
        give the since that the runs stored give."""
        nap = sh_task("nap", 'sleep "$1"', extra_argv=["{{secs}}"], arguments={
            "type": "object", "properties": {"since": {"type": "string"},
                                             "secs": {"type": "number", "default": 0}}})
        with Sked(tasks={"nap.json": nap}, args=FAST + ["--queues", "default=2"]) as s:
            job = s.create_job("nap")
            run = lambda **args: s.wait_run(s.run_job(job["id"], args=args))
            first = run()
            slow = s.run_job(job["id"], args={"secs": 1.5})
            fast = run()
            self.assertEqual(fast["args"]["since"], first["started_at"])
            probe = run()
            self.assertEqual(probe["args"]["since"], fast["started_at"])
            self.assertEqual(s.wait_run(slow)["status"], "SUCCESS")
            # the older run ended last: the newest successful run is still the probe
            newest = run()
            self.assertEqual(newest["args"]["since"], probe["started_at"])
            # the newest deleted: the one before it again
            self.assertEqual(s.delete("/api/jobs/%s/runs/%s" % (job["id"], newest["id"])).status, 204)
            self.assertEqual(run()["args"]["since"], probe["started_at"])
            # marked failed behind sked's back: the one before it again
            last = run()
            db = sqlite3.connect(s.db, timeout=10)
            db.execute("UPDATE run SET status = 'F' WHERE id = ?", (last["id"],))
            db.commit()
            db.close()
            before = s.get("/api/jobs/%s/runs?status=SUCCESS&size=1" % job["id"]).json["hits"]["hits"][0]
            self.assertNotEqual(before["id"], last["id"])
            self.assertEqual(run()["args"]["since"], before["started_at"])

    def test_a_run_that_waited_in_its_queue_takes_the_success_that_ended_meanwhile(self):
        """A run made while its queue was full, with no since of its own, takes as it starts
        the start of the job's run that succeeded meanwhile: their windows meet. A run given a
        since, or custom arguments, keeps what it was given."""
        nap = sh_task("nap", 'echo "since=$SKED_SINCE"; sleep "$1"', extra_argv=["{{secs}}"],
                      arguments={"type": "object", "properties": {
                          "secs": {"type": "number", "default": 0}}})
        with Sked(tasks={"nap.json": nap}, args=FAST + ["--queues", "default=1"]) as s:
            job = s.create_job("nap")
            first = s.wait_run(s.run_job(job["id"]))
            slow = s.run_job(job["id"], args={"secs": 1.5})
            s.wait_run(slow, ["RUNNING"])
            waiting = s.run_job(job["id"])
            given = s.run_job(job["id"], args={"since": "2026-01-01T00:00:00Z"})
            custom = s.post("/api/jobs/%s/runs" % job["id"],
                            {"custom_args": {"secs": 0}}).json
            self.assertEqual(s.get_run(waiting)["status"], "QUEUED")
            self.assertEqual(waiting["args"]["since"], first["started_at"])  # as made
            slow = s.wait_run(slow)
            self.assertEqual(slow["status"], "SUCCESS")
            done = s.wait_run(waiting)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["args"]["since"], slow["started_at"])
            # what the task was given, and nothing of sked's in its log
            self.assertEqual([l["message"] for l in s.logs(done)], ["since=" + slow["started_at"]])
            self.assertEqual(s.wait_run(given)["args"]["since"], "2026-01-01T00:00:00.000000+00:00")
            self.assertNotIn("since", s.wait_run(custom)["args"])

    def test_a_retry_keeps_the_since_of_the_attempt_it_follows(self):
        """A retry redoes its failed attempt's window: a success of the job while it waited
        for its backoff does not move its since, not even from null (a first run's)."""
        with Sked(tasks={"echo.json": ECHO}, args=FAST) as s:
            job = s.create_job("echo", max_retries=1, retry_backoff="1s")
            failed = s.wait_run(s.run_job(job["id"], args={"exit": 4}))
            self.assertEqual((failed["status"], failed["args"]["since"]), ("FAILED", None))
            ok = s.wait_run(s.run_job(job["id"]))
            self.assertEqual(ok["status"], "SUCCESS")
            retry = wait_for(lambda: [r for r in s.get("/api/jobs/%s/runs" % job["id"]).json
                                      ["hits"]["hits"] if r["trigger"] == "retry"])[0]
            retry = s.wait_run(retry, timeout=20)
            self.assertGreater(retry["started_at"], ok["finished_at"])
            self.assertEqual((retry["attempt"], retry["args"]), (2, failed["args"]))

    def test_schema_defaults_fill_missing_arguments(self):
        done, lines = self.run_echo(args={"count": 9})
        self.assertEqual(done["args"], {"since": None, "exit": 0, "name": "world", "count": 9,
                                        "mode": "fast"})
        self.assertEqual(argv_of(lines), ["0", "world", "--count=9", "", "", ""])
        # saved job arguments are used when the run gives none, defaults fill the rest
        job = self.s.create_job("echo", args={"name": "saved", "mode": "slow"})
        done, _ = self.run_echo(job)
        self.assertEqual(done["args"], {"since": None, "exit": 0, "name": "saved", "count": 3,
                                        "mode": "slow"})

    def test_custom_args_object_replaces_everything(self):
        job = self.s.create_job("echo", args={"name": "saved"})
        self.run_echo(job)  # a success, so a resolved run would now get a since
        custom = {"name": 5, "unknown": [1, {"x": None}], "count": "not validated"}
        done, lines = self.run_echo(job, custom_args=custom)
        self.assertEqual(done["args"], custom)
        self.assertEqual(done["output"], custom)  # stdin
        self.assertEqual(env_of(lines)["SKED_SINCE"], "")
        self.assertEqual(argv_of(lines), ["", "5", "--count=not validated", "", "", ""])

    def test_custom_args_json_string_replaces_everything(self):
        job = self.s.create_job("echo")
        self.run_echo(job)
        done, _ = self.run_echo(job, custom_args='  {"only": "this", "n": 1.5} ')
        self.assertEqual(done["args"], {"only": "this", "n": 1.5})
        self.assertEqual(done["output"], {"only": "this", "n": 1.5})
        # custom args saved on the job apply to runs that bring none, in both forms
        for saved in ({"saved": True}, '{"saved": true}'):
            j = self.s.create_job("echo", args={"name": "ignored"}, custom_args=saved)
            self.assertEqual(j["custom_args"], {"saved": True})
            done, _ = self.run_echo(j)
            self.assertEqual(done["args"], {"saved": True})
            # ...and a run's own custom args win over the saved ones
            done, _ = self.run_echo(j, custom_args={"run": 1})
            self.assertEqual(done["args"], {"run": 1})
        # an empty string or object means "no custom args": normal resolution
        done, _ = self.run_echo(custom_args="")
        self.assertEqual(done["args"]["name"], "world")
        self.assertIn("since", done["args"])

    def test_bad_custom_args(self):
        job = self.s.create_job("echo")
        for bad, fragment in (('{"a": ', "malformed JSON"), ("[1, 2]", "must hold a JSON object"),
                              (42, "must be a JSON object or a string")):
            r = self.s.post("/api/jobs/%s/runs" % job["id"], {"custom_args": bad})
            self.assertEqual(r.status, 400, r)
            fields = {e["field"]: e["messages"] for e in r.json["errors"]}
            self.assertIn("custom_args", fields, r.json)
            self.assertIn(fragment, " ".join(fields["custom_args"]))

    def test_validation_errors_name_the_field(self):
        job = self.s.create_job("echo")
        cases = [
            ({"count": "three"}, "args.count", "must be of type integer"),
            ({"count": 0}, "args.count", "must be at least 1"),
            ({"mode": "medium"}, "args.mode", "must be one of"),
            ({"bogus": 1}, "args.bogus", "unknown argument"),
            ({"flag": "yes"}, "args.flag", "must be of type boolean"),
            ({"since": "yesterday"}, "args.since", "date-time"),
        ]
        for args, field, fragment in cases:
            r = self.s.post("/api/jobs/%s/runs" % job["id"], {"args": args})
            self.assertEqual(r.status, 400, (args, r))
            self.assertEqual(r.json["status"], 400)
            self.assertTrue(r.json["message"])
            fields = {e["field"]: " ".join(e["messages"]) for e in r.json["errors"]}
            self.assertIn(field, fields, (args, r.json))
            self.assertIn(fragment, fields[field], (args, r.json))
        # several problems are reported together
        r = self.s.post("/api/jobs/%s/runs" % job["id"],
                        {"args": {"count": -1, "mode": 1, "bogus": 2}})
        self.assertEqual(r.status, 400, r)
        self.assertEqual({e["field"] for e in r.json["errors"]},
                         {"args.count", "args.mode", "args.bogus"})
        # nothing was queued by the rejected requests
        runs = self.s.get("/api/jobs/%s/runs" % job["id"]).json
        self.assertEqual(runs["hits"]["total"], 0)
        # saved job arguments are checked the same way
        r = self.s.post("/api/jobs", {"title": "bad", "task": "echo", "args": {"count": "x"}})
        self.assertEqual(r.status, 400, r)
        self.assertIn("args.count", [e["field"] for e in r.json["errors"]])

    def test_stdin_is_the_args_json(self):
        done, _ = self.run_echo(args={"name": "ünïcödé \"quoted\"\n", "flag": False})
        self.assertEqual(done["output"], done["args"])
        self.assertEqual(done["output"]["name"], "ünïcödé \"quoted\"\n")

    def test_placeholders_expand_in_argv(self):
        name = "two words; $(touch pwned) * `id` 'q'"
        done, lines = self.run_echo(args={"name": name, "count": 7, "flag": True})
        self.assertEqual(argv_of(lines), ["0", name, "--count=7", "true", "", ""])
        self.assertFalse(os.path.exists(os.path.join(self.s.tasks_dir, "pwned")))

    def test_environment(self):
        job = self.s.create_job("echo")
        done, lines = self.run_echo(job)
        env = env_of(lines)
        self.assertEqual(env["SKED_RUN_ID"], done["id"])
        self.assertEqual(env["SKED_JOB_ID"], job["id"])
        self.assertEqual(env["SKED_QUEUE"], "default")
        self.assertEqual(env["SKED_SINCE"], "")
        self.assertEqual(env["SKED_ATTEMPT"], "1")
        self.assertEqual(env["SKED_STATUS_FD"], "3")
        self.assertEqual(env["EXTRA_VAR"], "from-task-file")
        self.assertIn("PATH", env)  # sked's ordinary environment is passed on
        self.assertNotIn("SKED_ADMIN_TOKEN", env)
        for k, v in env.items():
            self.assertNotIn(skedtest.TOKEN, v, "the admin token leaked through %s" % k)
        sked_vars = {k for k in env if k.startswith("SKED_")}
        self.assertEqual(sked_vars, {"SKED_RUN_ID", "SKED_JOB_ID", "SKED_QUEUE", "SKED_SINCE",
                                     "SKED_UNTIL", "SKED_ATTEMPT", "SKED_STATUS_FD",
                                     "SKED_TRIGGER"})


class Windows(unittest.TestCase):
    """A run's window [since, until): until given to a run, and backfills made of such runs,
    which leave the job's since where the job's regular runs put it."""

    @classmethod
    def setUpClass(cls):
        cls.s = Sked(tasks={"echo.json": ECHO}, args=FAST + ["--queues", "default=2"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def refused(self, path, body, query=""):
        r = self.s.post(path + query, body)
        self.assertEqual(r.status, 400, r)
        return {e["field"]: e["messages"][0] for e in r.json["errors"]}

    def test_a_run_given_until(self):
        s = self.s
        job = s.create_job("echo")
        regular = s.wait_run(s.run_job(job["id"]))
        bounded = s.wait_run(s.run_job(job["id"], args={"since": "2026-01-01T00:00:00Z"},
                                       until="2026-01-02T00:00:00+01:00"))
        self.assertEqual((bounded["status"], bounded["trigger"]), ("SUCCESS", "manual"), bounded)
        self.assertEqual(bounded["until"], "2026-01-01T23:00:00.000000+00:00")
        env = env_of(s.all_logs(bounded))
        self.assertEqual((env["SKED_SINCE"], env["SKED_UNTIL"]),
                         ("2026-01-01T00:00:00.000000+00:00", "2026-01-01T23:00:00.000000+00:00"))
        self.assertIsNone(regular["until"])
        # its success leaves the job's since at the regular run's start
        after = s.wait_run(s.run_job(job["id"]))
        self.assertEqual(after["args"]["since"], regular["started_at"])
        self.assertEqual(json.loads(s.get("/api/jobs/" + job["id"]).json["default_args"])["since"],
                         after["started_at"])
        # and the job's newest success is still the bounded run when it is the newest
        s.wait_run(s.run_job(job["id"], args={"since": "2026-01-01T00:00:00Z"},
                             until="2026-01-03T00:00:00Z"))
        nxt = s.wait_run(s.run_job(job["id"]))
        self.assertEqual(nxt["args"]["since"], after["started_at"])
        # a retry covers the same window
        retried = s.create_job("echo", max_retries=1, retry_backoff="1s")
        failed = s.wait_run(s.run_job(retried["id"], args={"exit": 3, "since": "2026-01-01"},
                                      until="2026-01-02T00:00:00Z"))
        self.assertEqual(failed["status"], "FAILED")
        retry = wait_for(lambda: [r for r in s.get("/api/jobs/%s/runs" % retried["id"]).json[
            "hits"]["hits"] if r["trigger"] == "retry"], what="the retry")[0]
        retry = s.wait_run(retry)
        self.assertEqual((retry["until"], retry["args"]["since"]),
                         (failed["until"], failed["args"]["since"]))
        self.assertEqual(env_of(s.all_logs(retry))["SKED_UNTIL"], failed["until"])
        url = "/api/jobs/%s/runs" % job["id"]
        self.assertIn("is in the future", self.refused(url, {"until": "2999-01-01T00:00:00Z"})["until"])
        self.assertEqual(self.refused(url, {"until": 5})["until"],
                         "must be a date-time string, not integer")
        self.assertIn("not a valid date-time", self.refused(url, {"until": "soon"})["until"])
        self.assertIn("is not after since (2026-01-05T00:00:00.000000+00:00)", self.refused(
            url, {"args": {"since": "2026-01-05"}, "until": "2026-01-05T00:00:00Z"})["until"])
        self.assertEqual(self.refused(url, {"colour": 1})["colour"],
                         "unknown field (title, queue, args, custom_args, until)")

    def test_backfill(self):
        s = self.s
        job = s.create_job("echo", args={"name": "bf"})
        regular = s.wait_run(s.run_job(job["id"]))
        url = "/api/jobs/%s/actions/backfill" % job["id"]
        body = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T12:00:00Z", "step": "1d"}
        windows = [("2026-03-01T00:00:00.000000+00:00", "2026-03-02T00:00:00.000000+00:00"),
                   ("2026-03-02T00:00:00.000000+00:00", "2026-03-03T00:00:00.000000+00:00"),
                   ("2026-03-03T00:00:00.000000+00:00", "2026-03-03T12:00:00.000000+00:00")]
        # a dry run tells the windows and starts nothing
        r = s.post(url + "?dry_run=true", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["total"], r.json["dry_run"], r.json["queue"]), (3, True, "default"))
        self.assertEqual([(w["since"], w["until"]) for w in r.json["runs"]], windows)
        self.assertNotIn("id", r.json["runs"][0])
        self.assertNotIn("Location", r.headers)
        self.assertEqual(s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"], 1)
        r = s.post(url, body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["total"], 3)
        # created: where its runs are listed
        self.assertEqual(r.headers["Location"], "%s/api/jobs/%s/runs" % (s.url, job["id"]))
        for (since, until), w in zip(windows, r.json["runs"]):
            run = s.wait_run(s.get("/api/jobs/%s/runs/%s" % (job["id"], w["id"])).json)
            self.assertEqual((run["status"], run["trigger"]), ("SUCCESS", "backfill"), run)
            self.assertEqual((run["args"]["since"], run["until"], run["args"]["name"]),
                             (since, until, "bf"))
            self.assertEqual(run["title"], "Backfill %s to %s UTC" % (
                since[:19].replace("T", " "), until[:19].replace("T", " ")))
            env = env_of(s.all_logs(run))
            self.assertEqual((env["SKED_SINCE"], env["SKED_UNTIL"], env["SKED_TRIGGER"]),
                             (since, until, "backfill"))
        # the job's since is still where its regular run put it
        after = s.wait_run(s.run_job(job["id"]))
        self.assertEqual(after["args"]["since"], regular["started_at"])
        entry = [e for e in s.get("/api/audit?action=run.backfilled").json["hits"]["hits"]
                 if e["job_id"] == job["id"]]
        self.assertEqual(len(entry), 1, entry)
        self.assertEqual(entry[0]["details"], {"from": windows[0][0], "to": windows[2][1],
                                               "step": "1d", "queue": "default", "runs": 3})
        # one title for all, on another queue; to defaults to now
        r = s.post(url, {"from": regular["started_at"], "step": "1w", "title": "redo"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["total"], 1)
        run = s.wait_run(s.get("/api/jobs/%s/runs/%s" % (job["id"], r.json["runs"][0]["id"])).json)
        self.assertEqual(run["title"], "redo")
        self.assertGreaterEqual(parse_time(run["until"]), parse_time(regular["started_at"]))

    def test_a_backfill_is_retried_whatever_the_overlap_and_starts_no_chain(self):
        s = self.s
        down = s.create_job("echo")
        job = s.create_job("echo", args={"exit": 3}, overlap="skip", max_retries=1,
                           retry_backoff="1s", on_success=[down["id"]])
        r = s.post("/api/jobs/%s/actions/backfill" % job["id"],
                   {"from": "2026-10-01T00:00:00Z", "to": "2026-10-03T00:00:00Z", "step": 86400})
        self.assertEqual((r.status, r.json["step"]), (201, "1d"), r)
        # each window failed, then its retry ran, though the other window's runs waited
        def attempts():
            runs = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"]
            done = [x for x in runs if x["status"] in ("FAILED", "SUCCESS")]
            return runs if len(done) == 4 else None
        runs = wait_for(attempts, timeout=30, what="two windows of two attempts")
        self.assertEqual(sorted((x["until"], x["attempt"]) for x in runs),
                         [("2026-10-02T00:00:00.000000+00:00", 1), ("2026-10-02T00:00:00.000000+00:00", 2),
                          ("2026-10-03T00:00:00.000000+00:00", 1), ("2026-10-03T00:00:00.000000+00:00", 2)])
        # a window's success starts no on_success job; the regular run's does
        s.patch("/api/jobs/" + job["id"], {"args": {"exit": 0}})
        r = s.post("/api/jobs/%s/actions/backfill" % job["id"],
                   {"from": "2026-10-01T00:00:00Z", "to": "2026-10-15T00:00:00Z", "step": "2w"})
        self.assertEqual(r.json["step"], "14d")
        s.wait_run(s.get("/api/jobs/%s/runs/%s" % (job["id"], r.json["runs"][0]["id"])).json)
        time.sleep(0.5)
        self.assertEqual(s.get("/api/jobs/%s/runs" % down["id"]).json["hits"]["total"], 0)
        s.wait_run(s.run_job(job["id"]))
        wait_for(lambda: s.get("/api/jobs/%s/runs" % down["id"]).json["hits"]["total"] == 1,
                 what="the chained run of the regular run")

    def test_an_operator_backfills_no_job_type_that_keeps_its_arguments(self):
        t = sh_task("kept", "echo kept", operator_args=False)
        with Sked(tasks={"kept.json": t}, args=FAST) as s:
            job = s.create_job("kept")
            olga = s.post("/api/users", {"username": "olga", "role": "operator"}).json
            tok = s.post("/api/users/%s/tokens" % olga["id"], {"name": "t"}).json["token"]
            body = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "step": "1d"}
            r = s.post("/api/jobs/%s/actions/backfill" % job["id"], body, token=tok)
            self.assertEqual(r.status, 403, r)
            self.assertIn('"operator_args": false', r.json["message"])
            self.assertEqual(s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"], 0)
            self.assertEqual(s.post("/api/jobs/%s/actions/backfill" % job["id"], body).status, 201)

    def test_backfill_refusals(self):
        s = self.s
        job = s.create_job("echo")
        url = "/api/jobs/%s/actions/backfill" % job["id"]
        errs = self.refused(url, {})
        self.assertTrue(errs["from"].startswith("required"), errs)
        self.assertTrue(errs["step"].startswith("required"), errs)
        errs = self.refused(url, {"from": "2999-01-01", "step": "0.5s", "colour": 1})
        self.assertIn("is in the future", errs["from"])
        self.assertIn("not a duration", errs["step"])
        self.assertEqual(errs["colour"], "unknown field (from, to, step, queue, title)")
        self.assertEqual(self.refused(url, {"from": "2026-01-02", "to": "2026-01-01",
                                            "step": "1d"})["to"], "must be after from")
        self.assertEqual(self.refused(url, {"from": "2026-01-01", "step": "500ms"})["step"],
                         "must be at least 1s")
        self.assertIn("makes 1001 windows", self.refused(
            url, {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T16:41:00Z", "step": "1m"})["step"])
        self.assertIn("unknown queue", self.refused(url, {"from": "2026-01-01", "step": "1w",
                                                          "queue": "nope"})["queue"])
        self.assertIn("unknown parameter", self.refused(url, {"from": "2026-01-01", "step": "1w"},
                                                         "?dryrun=true")["dryrun"])
        custom = s.create_job("echo", custom_args={"x": 1})
        self.assertIn("custom_args", self.refused(
            "/api/jobs/%s/actions/backfill" % custom["id"], {"from": "2026-01-01", "step": "1w"})["args"])
        # exactly 1000 windows are taken
        r = s.post(url + "?dry_run=true",
                   {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T16:40:00Z", "step": "1m"})
        self.assertEqual((r.status, r.json["total"]), (200, 1000), r)
        self.assertEqual(s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"], 0)
        # viewers may not
        viewer = s.post("/api/users", {"username": "bfview", "role": "viewer"}).json
        tok = s.post("/api/users/%s/tokens" % viewer["id"], {"name": "t"}).json["token"]
        r = s.post(url, {"from": "2026-01-01", "step": "1w"}, token=tok)
        self.assertEqual(r.status, 403, r)


class StopAJobsRuns(unittest.TestCase):
    def test_a_jobs_queued_and_running_runs_are_stopped_together(self):
        t = sh_task("nap", "sleep 30", stop_grace="1s")
        with Sked(tasks={"nap.json": t}, args=FAST + ["--queues", "default=1"]) as s:
            job, other = s.create_job("nap"), s.create_job("nap")
            url = "/api/jobs/%s/actions/stop" % job["id"]
            runs = [s.run_job(job["id"]) for _ in range(4)]
            theirs = s.run_job(other["id"])
            wait_for(lambda: s.get("/api/jobs/%s/runs/%s" % (job["id"], runs[0]["id"])).json[
                "status"] == "RUNNING", what="the first run running")
            bf = s.post("/api/jobs/%s/actions/backfill" % job["id"],
                        {"from": "2026-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z",
                         "step": "1d"}).json["runs"]
            # a backfill's runs alone
            r = s.post(url, {"trigger": "backfill"})
            self.assertEqual(r.status, 202, r)
            self.assertEqual((r.json["stopped"], r.json["more"]), (2, False))
            self.assertEqual({x["id"] for x in r.json["runs"]}, {w["id"] for w in bf})
            self.assertEqual({x["status"] for x in r.json["runs"]}, {"CANCELLED"})
            # the queued ones
            r = s.post(url, {"status": ["queued"]})
            self.assertEqual([x["id"] for x in r.json["runs"]], [x["id"] for x in runs[1:]])
            self.assertEqual({x["status"] for x in r.json["runs"]}, {"CANCELLED"})
            # then the rest: the running one ends CANCELLED; the other job's run is left alone
            r = s.post(url)
            self.assertEqual(r.json["runs"], [{"id": runs[0]["id"], "status": "CANCELLING"}])
            self.assertEqual(s.wait_run(runs[0])["status"], "CANCELLED")
            self.assertEqual(s.post(url, {}).json, {"stopped": 0, "runs": [], "more": False, "dry_run": False})
            self.assertIn(s.get("/api/jobs/%s/runs/%s" % (other["id"], theirs["id"])).json["status"],
                          ("QUEUED", "RUNNING"))
            stops = [e for e in s.get("/api/audit?action=run.stopped").json["hits"]["hits"]
                     if e["job_id"] == job["id"]]
            self.assertEqual(len(stops), 6)
            # a backfill's retries go with it; a dry run stops nothing
            s.post("/api/queues/default/actions/pause", {})
            bf = s.post("/api/jobs/%s/actions/backfill" % job["id"],
                        {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z",
                         "step": "1d"}).json["runs"]
            # its retry (a failure's, made here as the dispatcher makes it)
            db = sqlite3.connect(s.db)
            db.execute("INSERT INTO run (id, job_id, task, status, queue, args, trigger, created, "
                       "updated, attempt, parent_run_id, window_end) SELECT ?, job_id, task, 'Q', "
                       "queue, args, 'retry', created, updated, 2, id, window_end FROM run WHERE "
                       "id = ?", (str(uuid.uuid4()), bf[0]["id"]))
            db.commit()
            db.close()
            r = s.post(url + "?dry_run=true", {"trigger": "BACKFILL"})
            self.assertEqual((r.status, r.json["stopped"], r.json["dry_run"]), (200, 2, True), r)
            self.assertEqual({x["status"] for x in r.json["runs"]}, {"QUEUED"})
            self.assertEqual(s.post(url + "?dryrun=1", {}).status, 400)
            r = s.post(url, {"trigger": "Backfill"})
            self.assertEqual([x["status"] for x in r.json["runs"]], ["CANCELLED", "CANCELLED"], r)
            self.assertEqual(r.json["runs"][0]["id"], bf[0]["id"])
            s.post("/api/queues/default/actions/resume", {})
            # refusals
            r = s.post(url, {"status": ["FAILED", 3], "trigger": "cron", "colour": 1})
            self.assertEqual(r.status, 400, r)
            errs = {}
            for e in r.json["errors"]:
                errs.setdefault(e["field"], []).extend(e["messages"])
            self.assertEqual(errs["colour"], ["unknown field (status, trigger)"])
            self.assertEqual(errs["status"], [
                "must be an array of QUEUED and RUNNING (the runs a stop ends), not FAILED",
                "must be an array of QUEUED and RUNNING (the runs a stop ends), not integer"])
            self.assertEqual(errs["trigger"], ["must be manual, scheduled, retry, chained or backfill"])
            self.assertEqual(s.post(url, {"status": []}).status, 400)
            self.assertEqual(s.post("/api/jobs/%s/actions/stop" % uuid.uuid4(), {}).status, 404)


class InlineOutcome(unittest.TestCase):
    def test_an_inline_runs_outcome_is_committed_without_another_event(self):
        # an inline builtin's outcome is written after the loop iteration that started it has
        # committed and answered, into the next iteration's transaction. A scheduled fire
        # comes from a timer, with no request or answer around it: its run's outcome must still
        # be written and committed (another connection sees it only then), before the next
        # fire three seconds later, not left for whatever comes next.
        noop = {"id": "noop", "title": "noop", "builtin": "noop"}
        with Sked(tasks={"noop.json": noop}, args=FAST) as s:
            job = s.create_job("noop", schedule={"type": "interval", "seconds": 3})

            def rows():
                with sqlite3.connect("file:%s?mode=ro" % s.db, uri=True) as db:
                    return db.execute("SELECT id, status FROM run WHERE job_id = ? ORDER BY rid",
                                      (job["id"],)).fetchall()
            second = wait_for(lambda: rows()[1:2], timeout=10, what="the second fire's run")
            run_id = second[0][0]
            wait_for(lambda: dict(rows()).get(run_id) == "S", timeout=1.5,
                     what="the second fire's outcome in the store's file")


def sig_masks(status_path):
    """(SigBlk, SigIgn) of a /proc/.../status file, as integers."""
    fields = dict(l.split(":", 1) for l in open(status_path).read().splitlines() if ":" in l)
    return int(fields["SigBlk"], 16), int(fields["SigIgn"], 16)


SIGCHLD_BIT = 1 << (17 - 1)


class Signals(unittest.TestCase):
    def test_sigchld_is_blocked_in_sked_and_nothing_is_in_a_task(self):
        # sked reads SIGCHLD from a signalfd: a thread that left it unblocked would take it and
        # discard it, and a finished task would wait to be reaped until another one ends
        task = sh_task("masks", "grep -E '^Sig(Blk|Ign):' /proc/self/status")
        with Sked(tasks={"masks.json": task}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("masks")["id"]))
            self.assertEqual(done["status"], "SUCCESS")
            lines = dict(l["message"].split(":", 1) for l in s.logs(done))
            # a task starts with nothing blocked, SIGCHLD included, and no standard signal
            # ignored (sked ignores SIGPIPE); glibc's posix_spawn leaves its own two, 32 and 33
            self.assertEqual(int(lines["SigBlk"], 16), 0)
            self.assertEqual(int(lines["SigIgn"], 16) & 0x7fffffff, 0)
            threads = os.listdir("/proc/%d/task" % s.proc.pid)
            self.assertGreater(len(threads), 2)  # the loop, the checkpointer, the pools
            for tid in threads:
                blocked, _ = sig_masks("/proc/%d/task/%s/status" % (s.proc.pid, tid))
                self.assertTrue(blocked & SIGCHLD_BIT, "thread %s takes SIGCHLD" % tid)
            # and tasks ending one after another are all reaped
            job = s.create_job("masks")["id"]
            runs = [s.run_job(job) for _ in range(20)]
            for r in runs:
                self.assertEqual(s.wait_run(r)["status"], "SUCCESS")


class StopAndTimeout(unittest.TestCase):
    def test_stop_leaves_no_process_behind(self):
        tree = sh_task("tree", r'''
sh -c 'trap "" TERM; sleep 1000' &
sleep 1000 &
echo started
wait
''')
        with Sked(tasks={"tree.json": tree}, args=FAST) as s:
            run = s.run_job(s.create_job("tree")["id"])
            needle = "SKED_RUN_ID=" + run["id"]
            wait_for(lambda: len(pids_with_env(needle)) >= 3, what="the task and its children")
            wait_for(lambda: any(l["message"] == "started" for l in s.logs(run)),
                     what="the started line")
            stopping = s.stop_run(run)
            self.assertIn(stopping["status"], ("CANCELLING", "CANCELLED"))
            done = s.wait_run(run)
            self.assertEqual(done["status"], "CANCELLED", done)
            self.assertEqual(done["stopped_by"], {"id": "bootstrap", "name": "bootstrap token"})
            self.assertEqual(done["message"], "stopped by bootstrap token")
            self.assertIsNotNone(done["finished_at"])
            wait_for(lambda: not pids_with_env(needle), timeout=5,
                     what="no process left with " + needle)
            msgs = [l["message"] for l in s.all_logs(done) if l["stream"] == "sked"]
            self.assertIn("stop requested by bootstrap token; sending SIGTERM", msgs)
            # a finished run cannot be stopped again
            r = s.post("/api/jobs/%s/runs/%s/actions/stop" % (run["job_id"], run["id"]))
            self.assertEqual(r.status, 400, r)
            self.assertIn("CANCELLED", r.json["message"])

    def test_task_ignoring_sigterm_is_killed_after_its_stop_grace(self):
        stubborn = sh_task("stubborn", r'''
trap '' TERM
echo ready
while :; do sleep 0.1; done
''', stop_grace="1s")
        with Sked(tasks={"stubborn.json": stubborn}, args=["--stop-grace", "20s",
                                                             "--shutdown-grace", "1s"]) as s:
            run = s.run_job(s.create_job("stubborn")["id"])
            wait_for(lambda: any(l["message"] == "ready" for l in s.logs(run)), what="ready")
            t0 = time.time()
            self.assertEqual(s.stop_run(run)["status"], "CANCELLING")
            self.assertEqual(s.get_run(run)["status"], "CANCELLING")
            again = s.post("/api/jobs/%s/runs/%s/actions/stop" % (run["job_id"], run["id"]))
            self.assertEqual(again.status, 400)
            self.assertIn("It is being stopped already.", again.json["message"])
            done = s.wait_run(run, timeout=15)
            elapsed = time.time() - t0
            self.assertEqual(done["status"], "CANCELLED", done)
            self.assertEqual(done["exit_code"], 137)
            late = s.post("/api/jobs/%s/runs/%s/actions/stop" % (run["job_id"], run["id"]))
            self.assertIn("The run has ended; only a QUEUED or RUNNING run can be stopped.",
                          late.json["message"])
            self.assertGreaterEqual(elapsed, 0.9)
            self.assertLess(elapsed, 10, "the task's stop_grace (1s) was not used")
            msgs = [l["message"] for l in s.all_logs(done)]
            self.assertIn("task did not end within the stop grace; sending SIGKILL", msgs)
            wait_for(lambda: not pids_with_env("SKED_RUN_ID=" + run["id"]), timeout=5,
                     what="no process left")

    def test_timeout_fails_the_run(self):
        slow = sh_task("slow", "echo begin; sleep 30", timeout="1s")
        plain = sh_task("plain", "echo begin; sleep 30")
        with Sked(tasks={"slow.json": slow, "plain.json": plain}, args=FAST) as s:
            a = s.run_job(s.create_job("slow")["id"])
            b = s.run_job(s.create_job("plain", timeout="1s")["id"])  # the job's own timeout
            self.assertEqual(a["timeout"], "1s")
            self.assertEqual(b["timeout"], "1s")
            t0 = time.time()
            for run in (a, b):
                done = s.wait_run(run, timeout=15)
                self.assertEqual(done["status"], "FAILED", done)
                self.assertEqual(done["message"], "timed out after 1s")
                self.assertGreaterEqual(parse_time(done["finished_at"]).timestamp() -
                                        parse_time(done["started_at"]).timestamp(), 0.9)
                msgs = [l["message"] for l in s.all_logs(done)]
                self.assertIn("timed out after 1s; sending SIGTERM", msgs)
                wait_for(lambda: not pids_with_env("SKED_RUN_ID=" + run["id"]), timeout=5,
                         what="no process left")
            self.assertLess(time.time() - t0, 10)


    def test_a_stop_while_a_timeout_ends_the_task_is_the_decision(self):
        """A user stops a run whose timeout is already ending it: the stop decides (CANCELLED,
        never retried), and the log says no signal was sent twice; the other way round, the
        timeout of a run being stopped changes nothing either."""
        slow = sh_task("slowterm", "trap 'sleep 1.5; exit 0' TERM; echo up; "
                                   "while :; do sleep 0.05; done",
                       timeout="1s", stop_grace="5s")
        slow2 = sh_task("slowterm2", "trap 'sleep 2.5; exit 0' TERM; echo up; "
                                     "while :; do sleep 0.05; done",
                        timeout="1s", stop_grace="5s")
        with Sked(tasks={"slowterm.json": slow, "slowterm2.json": slow2}, args=FAST) as s:
            job = s.create_job("slowterm", max_retries=1, retry_backoff="1s")
            run = s.run_job(job["id"])
            wait_for(lambda: "timed out after 1s; sending SIGTERM" in
                     [l["message"] for l in s.logs(run)], what="the timeout's SIGTERM")
            self.assertEqual(s.stop_run(run)["status"], "CANCELLING")
            done = s.wait_run(run, timeout=15)
            self.assertEqual((done["status"], done["message"]),
                             ("CANCELLED", "stopped by bootstrap token"), done)
            msgs = [l["message"] for l in s.all_logs(done)]
            self.assertIn("stop requested by bootstrap token; the task is already being stopped",
                          msgs)
            time.sleep(1.5)  # the retry's backoff, had there been one
            listed = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"]
            self.assertEqual([r["id"] for r in listed], [run["id"]])
            # stopped first, timed out while it ends
            run = s.run_job(s.create_job("slowterm2")["id"])
            wait_for(lambda: "up" in [l["message"] for l in s.logs(run)], what="the task up")
            s.stop_run(run)
            done = s.wait_run(run, timeout=15)
            self.assertEqual(done["status"], "CANCELLED", done)
            msgs = [l["message"] for l in s.all_logs(done)]
            self.assertIn("timed out after 1s; the task is already being stopped", msgs)
            self.assertNotIn("timed out after 1s; sending SIGTERM", msgs)


class Queues(unittest.TestCase):
    def test_a_retried_request_with_an_idempotency_key_starts_one_run(self):
        """The same request with the same Idempotency-Key (a client that lost the answer)
        gets the run the first one started, across a restart; the key with another body is
        422; another caller's key of the same name is its own; a bad key is 400."""
        with Sked(tasks={"quick.json": sh_task("quick", "echo hi")}, args=FAST) as s:
            job = s.create_job("quick")
            other = s.create_job("quick")
            url = "/api/jobs/%s/runs" % job["id"]
            key = {"Idempotency-Key": "3f2a9c1e-retry-me"}
            first = s.post(url, {"title": "nightly"}, headers=key)
            self.assertEqual(first.status, 201, first)
            self.assertIsNone(first.headers.get("Idempotent-Replayed"))
            again = s.post(url, {"title": "nightly"}, headers=key)
            self.assertEqual((again.status, again.json["id"]), (201, first.json["id"]))
            self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
            s.wait_run(first.json)
            s.stop()
            s.start()
            again = s.post(url, {"title": "nightly"}, headers=key)
            self.assertEqual((again.status, again.json["id"], again.json["status"]),
                             (201, first.json["id"], "SUCCESS"))
            self.assertEqual(s.get(url).json["hits"]["total"], 1)
            r = s.post(url, {"title": "another"}, headers=key)
            self.assertEqual(r.status, 422)
            self.assertIn("was used for another request", r.json["message"])
            r = s.post("/api/jobs/%s/runs" % other["id"], {"title": "nightly"}, headers=key)
            self.assertEqual(r.status, 422)
            # without a key, or with a new one, each request is a run of its own
            self.assertNotEqual(s.post(url, {"title": "nightly"}).json["id"], first.json["id"])
            fresh = s.post(url, {"title": "nightly"}, headers={"Idempotency-Key": "another"})
            self.assertNotEqual(fresh.json["id"], first.json["id"])
            for bad in ("", "x" * 256, "has space"):
                r = s.post(url, {}, headers={"Idempotency-Key": bad})
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "Idempotency-Key"), bad)
            self.assertEqual(s.get(url).json["hits"]["total"], 3)
            # a backfill's key: a retry answers with its runs as they are now, starting none;
            # the key of a run request is another request's; a dry run does not look at it
            bf = "/api/jobs/%s/actions/backfill" % job["id"]
            body = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "step": "1d"}
            bkey = {"Idempotency-Key": "backfill-march"}
            first = s.post(bf, body, headers=bkey)
            self.assertEqual((first.status, first.json["total"]), (201, 2), first)
            ids = [w["id"] for w in first.json["runs"]]
            for i in ids:
                s.wait_run({"id": i, "job_id": job["id"]})
            s.delete("/api/jobs/%s/runs/%s" % (job["id"], ids[1]))
            again = s.post(bf, body, headers=bkey)
            self.assertEqual((again.status, again.headers.get("Idempotent-Replayed")), (201, "true"))
            self.assertEqual([(w["id"], w["status"]) for w in again.json["runs"]],
                             [(ids[0], "SUCCESS"), (ids[1], None)])
            self.assertEqual([w["since"] for w in again.json["runs"]], [w["since"] for w in first.json["runs"]])
            self.assertEqual(s.get(url).json["hits"]["total"], 4)  # one deleted, none new
            self.assertEqual(s.post(bf, dict(body, step="2d"), headers=bkey).status, 422)
            self.assertEqual(s.post(bf, body, headers=key).status, 422)
            self.assertEqual(s.post(url, body, headers=bkey).status, 422)
            dry = s.post(bf + "?dry_run=true", body, headers=bkey)
            self.assertEqual((dry.status, dry.json["dry_run"]), (200, True))
            r = s.post(bf, body, headers={"Idempotency-Key": "bad key"})
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "Idempotency-Key"))

    def test_stop_of_a_queued_run(self):
        marker = sh_task("marker", 'touch "ran-$SKED_RUN_ID"; echo ran')
        with Sked(tasks={"gated.json": GATED, "marker.json": marker},
                  args=FAST + ["--queues", "default=1"]) as s:
            blocker = s.run_job(s.create_job("gated")["id"])
            s.wait_run(blocker, ["RUNNING"])
            mjob = s.create_job("marker")
            queued = s.run_job(mjob["id"])
            time.sleep(0.2)
            self.assertEqual(s.get_run(queued)["status"], "QUEUED")
            stopped = s.stop_run(queued)
            self.assertEqual(stopped["status"], "CANCELLED", stopped)
            self.assertIsNone(stopped["started_at"])
            self.assertEqual(stopped["stopped_by"], {"id": "bootstrap", "name": "bootstrap token"})
            self.assertIn("before it started", stopped["message"])
            # logged as every run's end is
            self.assertIn("event=run.finished run=%s job=%s status=CANCELLED" % (queued["id"], mjob["id"]),
                          s.server_log())
            # release the queue: the next run goes, the cancelled one never starts
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            self.assertEqual(s.wait_run(blocker)["status"], "SUCCESS")
            later = s.wait_run(s.run_job(mjob["id"]))
            self.assertEqual(later["status"], "SUCCESS", later)
            again = s.get_run(queued)
            self.assertEqual(again["status"], "CANCELLED")
            self.assertIsNone(again["started_at"])
            self.assertEqual(s.all_logs(again), [])
            self.assertFalse(os.path.exists(os.path.join(s.tasks_dir, "ran-" + queued["id"])))
            self.assertTrue(os.path.exists(os.path.join(s.tasks_dir, "ran-" + later["id"])))

    def test_a_paused_queue_holds_its_runs_across_a_restart(self):
        """An operator pauses a queue for maintenance: its waiting runs and new ones stay
        QUEUED (a restart keeps the pause), a running one goes on, other queues run, and a
        resume starts what waited."""
        import subprocess
        low = sh_task("low", "echo low", default_queue="low")
        with Sked(tasks={"gated.json": GATED, "low.json": low},
                  args=FAST + ["--queues", "default=2,low=1"]) as s:
            job = s.create_job("gated")
            running = s.run_job(job["id"])
            s.wait_run(running, ["RUNNING"])
            r = s.post("/api/queues/default/actions/pause", {"reason": "database upgrade"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json["paused"], r.json["paused_by"], r.json["paused_by_id"],
                              r.json["pause_reason"]),
                             (True, "bootstrap token", "bootstrap", "database upgrade"))
            paused_at = r.json["paused_at"]
            self.assertFalse(r.json["was_paused"])
            # again: only the reason changes (audited as such), the pause's time and author stay
            again = s.post("/api/queues/default/actions/pause", {"reason": "schema upgrade"}).json
            self.assertEqual((again["paused_at"], again["paused_by"], again["pause_reason"], again["was_paused"]),
                             (paused_at, "bootstrap token", "schema upgrade", True))
            # a reason is shown on one line: blank or multi-line ones are refused, nothing changed
            for bad, says in (("  ", "must not be blank"),
                              ("b\nc\u001b[31m", "must be one line without control characters")):
                r = s.post("/api/queues/default/actions/pause", {"reason": bad})
                self.assertEqual((r.status, r.json["errors"][0]["field"],
                                  r.json["errors"][0]["messages"][0]), (400, "reason", says))
            self.assertEqual(s.get("/api/queues").json["hits"]["hits"][0]["pause_reason"],
                             "schema upgrade")
            # without a reason, or with the same one, nothing changes
            for body in (None, {"reason": "schema upgrade"}):
                same = s.post("/api/queues/default/actions/pause", body).json
                self.assertEqual((same["paused_at"], same["pause_reason"], same["was_paused"]),
                                 (paused_at, "schema upgrade", True))
            held = s.run_job(job["id"])
            self.assertEqual(held["status"], "QUEUED")  # a free slot, but the queue is paused
            # another queue runs
            self.assertEqual(s.wait_run(s.run_job(s.create_job("low")["id"]))["status"], "SUCCESS")
            # the running run goes on and ends; its free slot takes nothing
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            self.assertEqual(s.wait_run(running)["status"], "SUCCESS")
            time.sleep(0.3)
            self.assertEqual(s.get_run(held)["status"], "QUEUED")
            queues = {q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual((queues["default"]["paused"], queues["default"]["queued"]), (True, 1))
            self.assertEqual((queues["low"]["paused"], queues["low"]["paused_at"]), (False, None))
            metrics = s.get_bytes("/metrics")[2].decode()
            self.assertIn('sked_queue_paused{queue="default"} 1\n', metrics)
            self.assertIn('sked_queue_paused{queue="low"} 0\n', metrics)
            # the pause outlives a restart
            s.restart()
            self.assertTrue({q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}["default"]["paused"])
            time.sleep(0.3)
            self.assertEqual(s.get_run(held)["status"], "QUEUED")
            # the CLI shows it and resumes it
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            env.update(SKED_URL=s.url, SKED_TOKEN=skedtest.TOKEN)
            table = subprocess.run([skedtest.BIN, "queues"], env=env, capture_output=True, text=True)
            self.assertIn("paused by bootstrap token (schema upgrade)", table.stdout)
            p = subprocess.run([skedtest.BIN, "queues", "resume", "default"], env=env,
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "queue default runs\n")
            self.assertFalse(s.post("/api/queues/default/actions/resume").json["was_paused"])
            self.assertEqual(s.wait_run(held)["status"], "SUCCESS")
            p = subprocess.run([skedtest.BIN, "queues", "pause", "low", "--reason", "x" * 501], env=env,
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("reason", p.stderr)
            trail = s.get("/api/audit?action=queue.").json["hits"]["hits"]
            self.assertEqual([e["action"] for e in trail],
                             ["queue.resumed", "queue.reason_changed", "queue.paused"])
            self.assertEqual(trail[1]["details"], {"queue": "default", "changes": {"reason": {
                "before": "database upgrade", "after": "schema upgrade"}}})
            self.assertIn("event=queue.reason_changed queue=default by=", s.server_log())
            # refusals name what is wrong
            for path, body, status, needle in (
                    ("/api/queues/nope/actions/pause", None, 404, "Queue nope does not exist"),
                    ("/api/queues/low/actions/pause", {"reason": ""}, 400, "reason"),
                    ("/api/queues/low/actions/pause", {"why": "x"}, 400, "why"),
                    ("/api/queues/low/actions/resume", {"reason": "x"}, 400, "reason"),
                    ("/api/queues/low/actions/pause", [1], 400, "object")):
                r = s.post(path, body)
                self.assertEqual(r.status, status, (path, body, r))
                self.assertIn(needle, json.dumps(r.json), (path, body))
            self.assertFalse({q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}["low"]["paused"])

    def test_queue_concurrency_is_respected(self):
        with Sked(tasks={"gated.json": GATED, "low.json": sh_task("low", "echo low",
                                                                  default_queue="low")},
                  args=FAST + ["--queues", "default=2,low=1"]) as s:
            job = s.create_job("gated")
            runs = [s.run_job(job["id"]) for _ in range(5)]
            # the first two find a free slot and start at once; the others wait for one
            self.assertEqual([r["status"] for r in runs], ["RUNNING"] * 2 + ["QUEUED"] * 3)
            self.assertEqual([r["started_at"] is None for r in runs], [False] * 2 + [True] * 3)
            wait_for(lambda: sum(s.get_run(r)["status"] == "RUNNING" for r in runs) == 2,
                     what="two running runs")
            time.sleep(0.3)  # room for a wrong third start
            statuses = [s.get_run(r)["status"] for r in runs]
            self.assertEqual(sorted(statuses), ["QUEUED"] * 3 + ["RUNNING"] * 2)
            # the oldest runs go first
            self.assertEqual(statuses[:2], ["RUNNING", "RUNNING"])
            running = s.get("/api/runs?status=RUNNING&job_id=" + job["id"]).json
            self.assertEqual(running["hits"]["total"], 2)
            queues = {q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual((queues["default"]["concurrency"], queues["default"]["busy"],
                              queues["default"]["queued"]), (2, 2, 3))
            # another queue is not held up by a full one
            low = s.wait_run(s.run_job(s.create_job("low")["id"]), timeout=10)
            self.assertEqual(low["status"], "SUCCESS")
            self.assertEqual(low["queue"], "low")
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            done = [s.wait_run(r) for r in runs]
            self.assertEqual({d["status"] for d in done}, {"SUCCESS"})
            # never more than two at once: the recorded intervals prove it
            events = []
            for d in done:
                events.append((parse_time(d["started_at"]), 1))
                events.append((parse_time(d["finished_at"]), -1))
            cur = peak = 0
            for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
                cur += delta
                peak = max(peak, cur)
            self.assertEqual(peak, 2)


import shutil  # noqa: E402 (for the class below)
import subprocess  # noqa: E402
import tempfile  # noqa: E402


class TaskFilesAsDocumented(unittest.TestCase):
    """What docs/tasks.md promises about task files and the shipped examples, against the
    binary: a since schema that could not take sked's own value, literal braces in a command,
    null for an absent executor, and the examples' arguments and status lines."""

    def config_check(self, tasks):
        return skedtest.config_check(tasks)

    def test_a_since_schema_sked_cannot_satisfy_is_refused_at_load(self):
        # accepted before: the first run succeeded, every later one was a 400 (args.since:
        # must be of type integer, not string) and every scheduled fire ended FAILED
        bad = task_file("t", ["/bin/true", "{{since}}"], arguments={
            "type": "object", "properties": {"since": {"type": "integer"}}})
        r = self.config_check({"t.json": bad})
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("t.json: arguments.properties.since.type: must be \"string\": sked fills "
                      "since with the start of the last successful run (an RFC 3339 date-time",
                      r.stderr)
        bad["arguments"]["properties"]["since"] = {"type": "string", "maxLength": 10}
        r = self.config_check({"t.json": bad})
        self.assertIn("arguments.properties.since.maxLength: not allowed on since", r.stderr)
        bad["arguments"]["properties"]["since"] = {"type": "string", "format": "date-time",
                                                   "title": "Since", "default": None}
        r = self.config_check({"t.json": bad})
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_literal_braces_and_null_for_an_absent_executor(self):
        braces = sh_task("braces", 'for a; do echo "ARG[$a]"; done',
                         extra_argv=["{{{{.Names}}", "{{{{{{name}}}}", "a}}b"],
                         arguments={"type": "object", "properties": {
                             "name": {"type": "string", "default": "x"}}})
        noop = {"id": "nothing", "title": "Nothing", "command": None, "builtin": "noop",
                "celery": None, "description": None}
        with Sked(tasks={"braces.json": braces, "nothing.json": noop}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("braces")["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(argv_of(s.all_logs(done)), ["{{.Names}}", "{{x}}", "a}}b"])
            done = s.wait_run(s.run_job(s.create_job("nothing")["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
        r = self.config_check({"t.json": task_file("t", ["docker", "ps", "--format", "{{.Names}}"])})
        self.assertIn("command[3]: placeholder {{.Names}}: names hold letters, digits and _ "
                      "(write {{{{ for a literal {{)", r.stderr)
        r = self.config_check({"t.json": task_file("t", ["/bin/true"], title="   ")})
        self.assertIn("t.json: title: must not be blank", r.stderr)

    def test_example_sync_records_honours_insert_only(self):
        with Sked(args=FAST) as s:  # the repository's own tasks.d
            job = s.create_job("sync_records", args={"records": 20, "reject_every": 5,
                                                     "mode": "insert-only"})
            done = s.wait_run(s.run_job(job["id"]))
            self.assertEqual(done["status"], "PARTIAL_SUCCESS", done)
            self.assertEqual((done["total_entries"], done["inserted_entries"],
                              done["updated_entries"], done["errored_entries"]), (20, 11, 0, 4))
            self.assertEqual(done["output"],
                             {"inserted": 11, "updated": 0, "rejected": 4, "skipped": 5})
            # custom arguments skip the enum: the script checks the mode itself
            bad = s.wait_run(s.run_job(job["id"], custom_args={"mode": "replace"}))
            self.assertEqual((bad["status"], bad["exit_code"]), ("FAILED", 2), bad)
            self.assertIn("mode must be update or insert-only", bad["message"])
            bad = s.wait_run(s.run_job(job["id"], custom_args={"records": "3; echo"}))
            self.assertEqual((bad["status"], bad["exit_code"]), ("FAILED", 2), bad)
            self.assertIn("records must be a whole number below 10000000, not 3; echo", bad["message"])

    def test_example_import_files_quotes_its_folder_and_checks_since(self):
        tmp = tempfile.mkdtemp(prefix="sked-test-")
        try:
            folder = os.path.join(tmp, 'a "quoted" \\ folder\tx')
            os.makedirs(folder)
            for name in ("one.txt", "two.txt", "later.txt"):
                with open(os.path.join(folder, name), "w") as f:
                    f.write("data")
            # changed after the runs start: past SKED_UNTIL, left to a later run
            later = time.time() + 3600
            os.utime(os.path.join(folder, "later.txt"), (later, later))
            with Sked(args=FAST) as s:
                job = s.create_job("import_files", args={"source": folder})
                done = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(done["status"], "SUCCESS", done)
                self.assertEqual(done["message"], "imported 2 file(s)")
                self.assertEqual(done["output"], {"folder": folder, "imported": 2})
                lines = s.all_logs(done)
                self.assertFalse([l for l in lines if "ignored status line" in l["message"]], lines)
                # the next run gets since: nothing changed after the first one started
                again = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(again["args"]["since"], done["started_at"])
                self.assertEqual(again["output"], {"folder": folder, "imported": 0})
                # custom arguments give SKED_SINCE whatever the caller sent: refused, unused
                bad = s.wait_run(s.run_job(job["id"], custom_args={
                    "source": folder, "since": "garbage; rm -rf"}))
                self.assertEqual((bad["status"], bad["exit_code"]), ("FAILED", 2), bad)
                self.assertIn("SKED_SINCE is not a date-time", bad["message"])
                self.assertEqual(sorted(os.listdir(folder)), ["later.txt", "one.txt", "two.txt"])
                # a pattern holding a quote, and a limit, reach the script intact
                for name in ('x "q".log', 'y "q".log', "z.log"):
                    with open(os.path.join(folder, name), "w") as f:
                        f.write("data")
                some = s.wait_run(s.run_job(job["id"], custom_args={
                    "source": folder, "pattern": '*"q".log', "limit": 1}))
                self.assertEqual((some["status"], some["message"]), ("SUCCESS", "imported 1 file(s)"), some)
                self.assertIn("imported x \"q\".log (4 bytes)", [l["message"] for l in s.all_logs(some)])
                bad = s.wait_run(s.run_job(job["id"], custom_args={"source": folder, "limit": "all"}))
                self.assertEqual((bad["status"], bad["exit_code"]), ("FAILED", 2), bad)
                self.assertIn("limit must be a whole number, not all", bad["message"])
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    skedtest.main()
