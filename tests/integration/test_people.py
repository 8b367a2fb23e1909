"""People against the real binary: each role's allowed and refused actions, the token
lifecycle, sessions with CSRF, login rate limiting, started_by/stopped_by on runs, the audit
trail, the account API, the store-level CLI, and that secrets never appear anywhere after
they were handed out."""
import http.client
import json
import os
import sqlite3
import subprocess
import time
import unittest
from datetime import datetime, timedelta, timezone

import skedtest
from skedtest import CheckedSked as Sked, task_file

TASKS = {"quick.json": task_file("quick", ["/bin/true"]),
         "slow.json": task_file("slow", ["/bin/sh", "-c", "sleep 30"], stop_grace="1s")}
ADMIN_PW = "the-admin-password-1"


def people_sked(**kw):
    env = dict(kw.pop("env", {}))
    env["SKED_ADMIN_PASSWORD"] = ADMIN_PW
    return Sked(tasks=TASKS, env=env, args=["--shutdown-grace", "1s"] + kw.pop("args", []), **kw)


def account(s, username, role, password=None):
    body = {"username": username, "role": role, "display_name": username.title()}
    if password:
        body["password"] = password
    r = s.post("/api/users", body)
    assert r.status == 201, r
    return r.json


def token_for(s, acc, name="t"):
    r = s.post("/api/users/%s/tokens" % acc["id"], {"name": name})
    assert r.status == 201, r
    return r.json["token"]


class Session:
    """A browser-like client: keeps the session cookie and sends the CSRF token."""

    def __init__(self, s):
        self.s = s
        self.cookie = None
        self.csrf = None
        self.set_cookie = None

    def login(self, username, password):
        r = self.request("POST", "/api/session", {"username": username, "password": password})
        if r.status == 201:
            self.set_cookie = r.headers.get("Set-Cookie")
            self.cookie = self.set_cookie.split(";")[0]
            self.csrf = r.json["csrf_token"]
        return r

    def request(self, method, path, body=None, csrf=True):
        h = {}
        if self.cookie:
            h["Cookie"] = self.cookie
        if csrf and self.csrf:
            h["X-CSRF-Token"] = self.csrf
        return self.s.request(method, path, body=body, token=None, headers=h)


class Roles(unittest.TestCase):
    def test_each_role_allowed_and_refused(self):
        with people_sked() as s:
            tok = {role: token_for(s, account(s, role + "1", role)) for role in ("admin", "operator", "viewer")}
            job = s.create_job("quick")
            run = s.wait_run(s.run_job(job["id"]))
            victim = account(s, "victim", "viewer")

            def call(role, method, path, body=None):
                return s.request(method, path, body=body, token=tok[role])

            # (method, path, body, minimum role)
            checks = [
                ("GET", "/api/jobs", None, "viewer"),
                ("GET", "/api/jobs/" + job["id"], None, "viewer"),
                ("GET", "/api/jobs/%s/runs" % job["id"], None, "viewer"),
                ("GET", "/api/jobs/%s/runs/%s/logs" % (job["id"], run["id"]), None, "viewer"),
                ("GET", "/api/runs", None, "viewer"),
                ("GET", "/api/tasks", None, "viewer"),
                ("GET", "/api/queues", None, "viewer"),
                ("POST", "/api/schedules/preview", {"schedule": {"type": "cron", "expression": "@daily"}}, "viewer"),
                ("GET", "/api/session", None, "viewer"),
                ("GET", "/api/tokens", None, "viewer"),
                ("POST", "/api/jobs/%s/runs" % job["id"], {}, "operator"),
                ("PATCH", "/api/jobs/" + job["id"], {"active": True}, "operator"),
                ("PATCH", "/api/jobs/" + job["id"], {"schedule": None}, "operator"),
                ("PATCH", "/api/jobs/" + job["id"], {"title": "renamed"}, "admin"),
                ("PATCH", "/api/jobs/" + job["id"], {"active": True, "title": "x"}, "admin"),
                ("PUT", "/api/jobs/" + job["id"], {"title": "put", "task": "quick"}, "admin"),
                ("POST", "/api/jobs", {"title": "new", "task": "quick"}, "admin"),
                ("DELETE", "/api/jobs/%s/runs/%s" % (job["id"], run["id"]), None, "admin"),
                ("GET", "/api/users", None, "admin"),
                ("POST", "/api/users", {"username": "made", "role": "viewer"}, "admin"),
                ("PATCH", "/api/users/" + victim["id"], {"display_name": "V"}, "admin"),
                ("POST", "/api/users/%s/tokens" % victim["id"], {"name": "x"}, "admin"),
                ("GET", "/api/audit", None, "admin"),
                ("GET", "/api/tokens?all=true", None, "admin"),
            ]
            order = ["viewer", "operator", "admin"]
            for method, path, body, minimum in checks:
                for role in order:
                    r = call(role, method, path, body)
                    allowed = order.index(role) >= order.index(minimum)
                    if allowed:
                        self.assertNotIn(r.status, (401, 403), (role, method, path, r))
                    elif method == "PATCH" and path.startswith("/api/users/"):
                        # others' accounts are not found rather than forbidden: no probing
                        self.assertEqual(r.status, 404, (role, method, path, r))
                    else:
                        self.assertEqual(r.status, 403, (role, method, path, r))
                        self.assertEqual(r.json["status"], 403)
                        self.assertIn("Permission denied", r.json["message"])
            # a run for the stop checks (the runs above were quick and are done)
            slow = s.create_job("slow")
            for role, expected in (("viewer", 403), ("operator", 202)):
                r = s.run_job(slow["id"])
                st = call(role, "POST", "/api/jobs/%s/runs/%s/actions/stop" % (slow["id"], r["id"]))
                self.assertEqual(st.status, expected, (role, st))
                if expected == 403:
                    s.post("/api/jobs/%s/runs/%s/actions/stop" % (slow["id"], r["id"]))
            self.assertEqual(call("operator", "DELETE", "/api/jobs/" + job["id"]).status, 403)
            self.assertEqual(call("admin", "DELETE", "/api/jobs/" + job["id"]).status, 204)
            self.assertEqual(call("operator", "DELETE", "/api/users/" + victim["id"]).status, 403)
            self.assertEqual(call("admin", "DELETE", "/api/users/" + victim["id"]).status, 204)

    def test_no_credentials_and_health(self):
        with people_sked() as s:
            for path in ("/api/jobs", "/api/users", "/api/audit", "/api/session"):
                r = s.get(path, token=None)
                self.assertEqual(r.status, 401, path)
                self.assertIn("authentication required", r.json["message"])
            # what was sent, and what to do instead
            r = s.get("/api/jobs", token="sked_" + "0" * 40)
            self.assertEqual(r.status, 401)
            self.assertIn("the token is not valid", r.json["message"])
            r = s.get("/api/jobs", headers={"Authorization": "Basic eDp5"}, token=None)
            self.assertEqual(r.status, 401)
            self.assertIn('must be "Bearer TOKEN"', r.json["message"])
            r = s.get("/api/jobs", headers={"Cookie": "sked_session=gone"}, token=None)
            self.assertEqual(r.status, 401)
            self.assertIn("the session has ended", r.json["message"])
            self.assertEqual(s.get("/healthz", token=None).status, 200)
            self.assertEqual(s.get("/readyz", token=None).status, 200)

    def test_security_headers(self):
        with people_sked() as s:
            for r in (s.get("/api/jobs"), s.get("/nope"), s.get("/api/jobs", token=None)):
                self.assertEqual(r.headers.get("X-Content-Type-Options"), "nosniff")
                self.assertIn("frame-ancestors 'none'", r.headers.get("Content-Security-Policy"))
                self.assertEqual(r.headers.get("X-Frame-Options"), "DENY")


class Tokens(unittest.TestCase):
    def test_lifecycle(self):
        with people_sked() as s:
            op = account(s, "olga", "operator")
            r = s.post("/api/users/%s/tokens" % op["id"], {"name": "ci"})
            self.assertEqual(r.status, 201)
            secret = r.json["token"]
            self.assertTrue(secret.startswith("sked_") and len(secret) > 40)
            self.assertEqual(r.json["name"], "ci")
            self.assertEqual(r.json["username"], "olga")
            self.assertTrue(secret.startswith(r.json["prefix"]))
            # use
            me = s.get("/api/session", token=secret)
            self.assertEqual(me.status, 200)
            self.assertEqual(me.json["user"]["username"], "olga")
            self.assertEqual(me.json["user"]["role"], "operator")
            self.assertEqual(me.json["user"]["via"], "token")
            # its owner can create and list her own tokens; secrets are never listed
            own = s.post("/api/tokens", {"name": "laptop"}, token=secret)
            self.assertEqual(own.status, 201)
            listed = s.get("/api/tokens", token=secret)
            self.assertEqual(sorted(t["name"] for t in listed.json["hits"]["hits"]), ["ci", "laptop"])
            self.assertNotIn(secret, listed.raw)
            self.assertNotIn("token\"", listed.raw.replace("token_id", ""))
            self.assertIsNotNone([t for t in listed.json["hits"]["hits"] if t["name"] == "ci"][0]["last_used"])
            # revoke
            self.assertEqual(s.delete("/api/tokens/" + r.json["id"], token=secret).status, 204)
            self.assertEqual(s.get("/api/jobs", token=secret).status, 401)
            self.assertEqual(s.get("/api/jobs", token=own.json["token"]).status, 200)
            # the list narrowed to the tokens that work, or to the others
            names = lambda q: [t["name"] for t in s.get("/api/tokens" + q, token=own.json["token"]).json["hits"]["hits"]]
            self.assertEqual((names("?active=true"), names("?active=false")), (["laptop"], ["ci"]))
            self.assertEqual(sorted(names("")), ["ci", "laptop"])
            self.assertEqual(s.get("/api/tokens?active=TRUE", token=own.json["token"]).json["hits"]["total"], 1)
            r = s.get("/api/tokens?active=yes", token=own.json["token"])
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "active"))
            # others' tokens are invisible to a non-admin
            other = token_for(s, account(s, "victor", "viewer"))
            vid = s.get("/api/tokens", token=other).json["hits"]["hits"][0]["id"]
            self.assertEqual(s.delete("/api/tokens/" + vid, token=own.json["token"]).status, 404)
            self.assertEqual(s.get("/api/jobs", token=other).status, 200)
            # a disabled account's tokens work no more, and are listed so
            victor = [a for a in s.get("/api/users").json["hits"]["hits"] if a["username"] == "victor"][0]
            self.assertEqual(s.patch("/api/users/" + victor["id"], {"disabled": True}).status, 200)
            self.assertEqual(s.get("/api/jobs", token=other).status, 401)
            every = {t["id"]: t["active"] for t in s.get("/api/tokens?all=true").json["hits"]["hits"]}
            self.assertFalse(every[vid])
            self.assertNotIn(vid, [t["id"] for t in s.get("/api/tokens?all=true&active=true").json["hits"]["hits"]])
            self.assertIn(vid, [t["id"] for t in s.get("/api/tokens?all=true&active=false").json["hits"]["hits"]])
            self.assertEqual(s.patch("/api/users/" + victor["id"], {"disabled": False}).status, 200)
            self.assertTrue({t["id"]: t["active"] for t in s.get("/api/tokens?all=true").json["hits"]["hits"]}[vid])

    def test_expiry_and_validation(self):
        with people_sked() as s:
            op = account(s, "olga", "operator")
            soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
            r = s.post("/api/users/%s/tokens" % op["id"], {"name": "short", "expires_at": soon})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(s.get("/api/jobs", token=r.json["token"]).status, 200)
            time.sleep(2.2)
            self.assertEqual(s.get("/api/jobs", token=r.json["token"]).status, 401)
            past = (datetime.now(timezone.utc) - timedelta(seconds=5)).isoformat()
            for body, field in (({"name": "x", "expires_at": past}, "expires_at"),
                                ({"name": "x", "expires_at": "soon"}, "expires_at"),
                                ({}, "name"), ({"name": ""}, "name"), ({"name": "x", "owner": "y"}, "owner")):
                r = s.post("/api/users/%s/tokens" % op["id"], body)
                self.assertEqual(r.status, 400, body)
                self.assertIn(field, [e["field"] for e in r.json["errors"]])
            # the bootstrap token owns no account
            self.assertEqual(s.post("/api/tokens", {"name": "x"}).status, 400)

    def test_disabled_account_is_locked_out(self):
        with people_sked() as s:
            op = account(s, "olga", "operator", password="olga-password")
            secret = token_for(s, op)
            b = Session(s)
            self.assertEqual(b.login("olga", "olga-password").status, 201)
            self.assertEqual(s.patch("/api/users/" + op["id"], {"disabled": True}).status, 200)
            self.assertEqual(s.get("/api/jobs", token=secret).status, 401)
            self.assertEqual(b.request("GET", "/api/jobs").status, 401)
            self.assertEqual(Session(s).login("olga", "olga-password").status, 401)
            self.assertEqual(s.patch("/api/users/" + op["id"], {"disabled": False}).status, 200)
            self.assertEqual(s.get("/api/jobs", token=secret).status, 200)

    def test_an_account_has_at_most_100_tokens_that_still_count(self):
        """Every token is kept (revoked ones too) and audited: an account has at most 100 that
        are neither revoked nor expired, and is then told how to make room; the lists of tokens
        come a page at a time."""
        with people_sked() as s:
            victor = account(s, "victor", "viewer", password="victor-password")
            mine = token_for(s, victor, "first")
            for i in range(99):
                self.assertEqual(s.post("/api/tokens", {"name": "t%d" % i}, token=mine).status, 201, i)
            created = s.get("/api/audit?action=token.created&size=1").json["hits"]["total"]
            b = Session(s)
            self.assertEqual(b.login("victor", "victor-password").status, 201)
            for r in (s.post("/api/tokens", {"name": "one more"}, token=mine),
                      s.post("/api/users/%s/tokens" % victor["id"], {"name": "one more"}),
                      # told before the password is checked: no sign-in attempt is spent on it
                      b.request("POST", "/api/tokens", {"name": "one more", "password": "victor-password"})):
                self.assertEqual(r.status, 409, r)
                self.assertIn("the account 'victor' has 100 API tokens that are neither revoked nor "
                              "expired, the most an account may have: revoke the ones no longer used "
                              "(DELETE /api/tokens/{id}, or sked token revoke ID", r.json["message"])
            self.assertEqual(s.get("/api/audit?action=token.created&size=1").json["hits"]["total"], created)
            self.assertEqual(s.get("/api/audit?action=login.failed").json["hits"]["total"], 0)
            # another account is not held by it
            olga = token_for(s, account(s, "olga", "operator"))
            self.assertEqual(s.post("/api/tokens", {"name": "x"}, token=olga).status, 201)
            # a disabled account's tokens still count: they work again once it is enabled
            self.assertEqual(s.patch("/api/users/" + victor["id"], {"disabled": True}).status, 200)
            self.assertEqual(s.post("/api/users/%s/tokens" % victor["id"], {"name": "x"}).status, 409)
            self.assertEqual(s.patch("/api/users/" + victor["id"], {"disabled": False}).status, 200)
            # a revoked one makes room, and so does an expired one
            listed = s.get("/api/tokens", token=mine).json
            ids = [t["id"] for t in listed["hits"]["hits"]]
            self.assertEqual((listed["hits"]["total"], len(ids)), (100, 100))
            self.assertEqual(s.delete("/api/tokens/" + ids[0], token=mine).status, 204)
            self.assertEqual(s.post("/api/tokens", {"name": "after a revocation"}, token=mine).status, 201)
            self.assertEqual(s.post("/api/tokens", {"name": "x"}, token=mine).status, 409)
            with sqlite3.connect(s.db, timeout=10) as db:
                db.execute("UPDATE token SET expires_at = 1 WHERE id = ?", (ids[1],))
            self.assertEqual(s.post("/api/tokens", {"name": "after an expiry"}, token=mine).status, 201)
            self.assertEqual(s.post("/api/tokens", {"name": "x"}, token=mine).status, 409)
            # 102 tokens now: 100 a page unless size says otherwise, as other lists page
            page = s.get("/api/tokens", token=mine).json
            self.assertEqual((page["hits"]["total"], len(page["hits"]["hits"]), page["sortBy"]), (102, 100, "created"))
            self.assertIn("page=2", page["links"]["next"])
            rest = s.get("/api/tokens?page=2", token=mine).json
            self.assertEqual(len(rest["hits"]["hits"]), 2)
            self.assertNotIn("next", rest["links"])
            every = [t["id"] for t in page["hits"]["hits"] + rest["hits"]["hits"]]
            self.assertEqual(len(set(every)), 102)
            oldest = s.get("/api/tokens?sort_direction=asc&size=3", token=mine).json["hits"]["hits"]
            self.assertEqual([t["id"] for t in oldest], list(reversed(every))[:3])
            self.assertEqual(s.get("/api/tokens?active=true&size=1", token=mine).json["hits"]["total"], 100)
            self.assertEqual(s.get("/api/tokens?active=false", token=mine).json["hits"]["total"], 2)
            r = s.get("/api/tokens?all=true&size=1000").json
            self.assertEqual(r["hits"]["total"], len(r["hits"]["hits"]))
            self.assertEqual(r["hits"]["total"], 104)  # victor's and olga's
            for q, field in (("size=0", "size"), ("page=0", "page"), ("sort=name", "sort"),
                             ("sort_direction=up", "sort_direction")):
                r = s.get("/api/tokens?" + q, token=mine)
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, field), q)


class Sessions(unittest.TestCase):
    def test_a_token_made_in_a_web_session_needs_the_password(self):
        """A token outlives the session it is made in: from a session (a cookie that may have
        been taken over) it needs the person's password, checked as a sign-in is; with a token
        it does not."""
        with people_sked() as s:
            olga = account(s, "olga", "operator", "olga-password")
            web = Session(s)
            self.assertEqual(web.login("olga", "olga-password").status, 201)
            r = web.request("POST", "/api/tokens", {"name": "laptop"})
            self.assertEqual(r.status, 400)
            self.assertEqual(r.json["errors"][0]["field"], "password")
            self.assertIn("required to create a token from a web session", r.json["errors"][0]["messages"][0])
            # a null password is none (it once crashed the server), for another's account too
            r = web.request("POST", "/api/tokens", {"name": "laptop", "password": None})
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "password"), r)
            self.assertEqual(s.get("/healthz").status, 200)
            r = web.request("POST", "/api/tokens", {"name": "laptop", "password": "wrong-password"})
            self.assertEqual((r.status, r.json["message"]), (403, "the password is wrong"))
            failed = s.get("/api/audit?action=login.failed").json["hits"]["hits"]
            self.assertEqual(failed[0]["details"], {"username": "olga", "during": "token creation"})
            r = web.request("POST", "/api/tokens", {"name": "laptop", "password": "olga-password"})
            self.assertEqual(r.status, 201, r)
            self.assertTrue(r.json["token"].startswith("sked_"))
            # the success cleared the count; five wrong ones reach the account's limit, as
            # sign-ins would
            for _ in range(5):
                web.request("POST", "/api/tokens", {"name": "x", "password": "wrong-password"})
            self.assertEqual(web.request("POST", "/api/tokens", {"name": "x", "password": "olga-password"}).status, 429)
            # with a token, no password
            tok = token_for(s, olga)
            self.assertEqual(s.post("/api/tokens", {"name": "ci"}, token=tok).status, 201)

    def test_login_csrf_logout(self):
        # the proxy that says the client came over TLS is on this machine, and trusted
        with people_sked(args=["--trusted-proxies", "127.0.0.1"]) as s:
            b = Session(s)
            r = b.login("admin", ADMIN_PW)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["user"]["username"], "admin")
            cookie = b.set_cookie
            self.assertIn("HttpOnly", cookie)
            self.assertIn("SameSite=Strict", cookie)
            self.assertIn("Path=/", cookie)
            self.assertNotIn("Secure", cookie)
            self.assertEqual(b.request("GET", "/api/session").json["user"]["via"], "session")
            self.assertEqual(b.request("GET", "/api/jobs").status, 200)
            # a cookie of the name that another site of the domain set (a longer Path: the
            # browser sends it first) neither signs the user out nor stands for them
            for planted in ("sked_session=; ", "sked_session=bogus; ", "sked_session=%s; " % ("x" * 300)):
                r = s.request("GET", "/api/session", token=None, headers={"Cookie": planted + b.cookie})
                self.assertEqual((r.status, r.json["user"]["username"]), (200, "admin"), planted)
            r = s.request("GET", "/api/session", token=None,
                          headers={"Cookie": "sked_session=a; sked_session=b; sked_session=c; "
                                             "sked_session=d; " + b.cookie})
            self.assertEqual(r.status, 401)  # four are tried, no more
            # changes need the CSRF token
            r = b.request("POST", "/api/jobs", {"title": "t", "task": "quick"}, csrf=False)
            self.assertEqual(r.status, 403)
            self.assertIn("X-CSRF-Token", r.json["message"])
            saved = b.csrf
            b.csrf = "0" * len(saved)
            self.assertEqual(b.request("POST", "/api/jobs", {"title": "t", "task": "quick"}).status, 403)
            b.csrf = saved
            self.assertEqual(b.request("POST", "/api/jobs", {"title": "t", "task": "quick"}).status, 201)
            # behind a proxy that says it is TLS the cookie is Secure, and named __Host-: only
            # this very host sets it, so a sibling host of the site cannot plant a session
            tls = {"X-Forwarded-Proto": "https"}
            r = s.request("POST", "/api/session", {"username": "admin", "password": ADMIN_PW}, token=None,
                          headers=tls)
            set_cookie = r.headers["Set-Cookie"]
            self.assertTrue(set_cookie.startswith("__Host-sked_session="), set_cookie)
            self.assertIn("Secure", set_cookie)
            sid = set_cookie.split(";")[0].split("=", 1)[1]
            ok = s.request("GET", "/api/session", token=None, headers=dict(tls, Cookie="__Host-sked_session=" + sid))
            self.assertEqual(ok.status, 200, ok)
            for cookie, h, why in (
                    ("sked_session=" + sid, tls, "the session cookie sent was made over plain http "
                     "(sked_session), and this request comes over https: sign in again over https"),
                    ("__Host-sked_session=" + sid, {}, "the session cookie sent was made over https "
                     "(__Host-sked_session), and this request comes over plain http")):
                r = s.request("GET", "/api/session", token=None, headers=dict(h, Cookie=cookie))
                self.assertEqual(r.status, 401, (cookie, h))
                self.assertIn(why, r.json["message"])
            r = s.request("DELETE", "/api/session", token=None,
                          headers=dict(tls, Cookie="__Host-sked_session=" + sid, **{"X-CSRF-Token": ok.json["csrf_token"]}))
            self.assertEqual(r.status, 204, r)
            self.assertTrue(r.headers["Set-Cookie"].startswith("__Host-sked_session=;"), r.headers["Set-Cookie"])
            self.assertIn("Secure", r.headers["Set-Cookie"])
            # logout
            r = b.request("DELETE", "/api/session")
            self.assertEqual(r.status, 204)
            self.assertIn("Max-Age=0", r.headers["Set-Cookie"])
            self.assertEqual(b.request("GET", "/api/jobs").status, 401)

    def test_wrong_passwords_and_rate_limit(self):
        with people_sked() as s:
            account(s, "olga", "operator", password="olga-password")
            for body in ({"username": "olga"}, {"password": "x"}, {"username": "olga", "password": 5}):
                self.assertEqual(Session(s).login(**{"username": body.get("username"), "password": body.get("password")}).status
                                 if False else s.post("/api/session", body, token=None).status, 400)
            for i in range(5):
                r = Session(s).login("olga", "wrong-password")
                self.assertEqual(r.status, 401)
                self.assertIn("wrong username or password", r.json["message"])
            r = Session(s).login("olga", "wrong-password")
            self.assertEqual(r.status, 429)
            self.assertGreater(int(r.headers["Retry-After"]), 0)
            self.assertIn("try again", r.json["message"])
            # the right password is refused too while the account is limited
            self.assertEqual(Session(s).login("olga", "olga-password").status, 429)
            # unknown accounts look the same as wrong passwords
            r = Session(s).login("nobody", "whatever-pass")
            self.assertEqual(r.status, 401)
            # per address: twenty failures over many names lock the address out
            for i in range(15):
                Session(s).login("name%d" % i, "wrong-password")
            r = Session(s).login("admin", ADMIN_PW)
            self.assertEqual(r.status, 429)

    def test_only_a_trusted_proxy_says_a_request_came_over_tls(self):
        """X-Forwarded-Proto is a proxy's word on how the client reached it: from anyone else
        (no trusted_proxies, or a peer not among them) a plain-http client would get the
        Secure, __Host- cookie and https links on its own say-so."""
        tls = {"X-Forwarded-Proto": "https"}
        for args, believed in (([], False), (["--trusted-proxies", "127.0.0.2"], False),
                               (["--trusted-proxies", "127.0.0.1"], True)):
            with people_sked(args=args) as s:
                r = s.request("POST", "/api/session", {"username": "admin", "password": ADMIN_PW},
                              token=None, headers=tls)
                self.assertEqual(r.status, 201, (args, r))
                cookie = r.headers["Set-Cookie"]
                self.assertEqual(cookie.startswith("__Host-sked_session="), believed, (args, cookie))
                self.assertEqual("Secure" in cookie, believed, (args, cookie))
                # the session is the one of the scheme the request is taken to have come over
                r = s.request("GET", "/api/session", token=None, headers=dict(tls, Cookie=cookie.split(";")[0]))
                self.assertEqual(r.status, 200, (args, r))
                link = s.get("/api/audit?size=1", headers=tls).json["links"]["self"]
                self.assertEqual(link.startswith("https://"), believed, (args, link))


class Hardening(unittest.TestCase):
    def test_parallel_guesses_hit_the_limit(self):
        import threading
        with people_sked() as s:
            codes = []
            def guess():
                codes.append(Session(s).login("admin", "wrong-password-x").status)
            threads = [threading.Thread(target=guess) for _ in range(15)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertLessEqual(codes.count(401), 5, codes)
            self.assertEqual(codes.count(401) + codes.count(429), 15, codes)

    def test_a_flood_of_sign_ins_is_turned_away_not_queued(self):
        """Sign-ins from many addresses (each under its own limit) fill the password checks'
        queue: those past it are answered 503 at once, and are not counted as failures."""
        import socket
        with people_sked() as s:
            conns = []
            for i in range(20):  # the most one address may have under way
                for addr in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):  # in turns
                    body = json.dumps({"username": "nobody-%s-%d" % (addr, i),
                                       "password": "wrong-password"}).encode()
                    c = socket.create_connection(("127.0.0.1", s.port), timeout=60,
                                                 source_address=(addr, 0))
                    c.sendall(b"POST /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                              b"Content-Length: %d\r\n\r\n" % len(body) + body)
                    conns.append(c)
            answers = [skedtest.read_to_close(c).decode() for c in conns]
            codes = [int(a.split(" ", 2)[1]) for a in answers]
            self.assertEqual(codes.count(401) + codes.count(503), 60, codes)
            self.assertGreaterEqual(codes.count(503), 60 - 32 - 2, codes)  # a few may finish meanwhile
            busy = next(a for a in answers if a.split(" ", 2)[1] == "503")
            self.assertIn("Retry-After: 1\r\n", busy)
            self.assertIn("try again in a moment", busy)
            # the answers turned away did not count: every address may still sign in
            for addr in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
                body = json.dumps({"username": "admin", "password": ADMIN_PW}).encode()
                c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30,
                                               source_address=(addr, 0))
                c.request("POST", "/api/session", body, {"Content-Type": "application/json"})
                self.assertEqual(c.getresponse().status, 201, addr)
                c.close()

    def test_behind_a_trusted_proxy_limits_and_audit_name_the_client(self):
        """With --trusted-proxies, the address a trusted proxy forwards is the client's: its
        failures are its own (the proxy's other clients still sign in), and the audit trail
        names it. From anyone else X-Forwarded-For is ignored."""
        with people_sked(args=["--trusted-proxies", "127.0.0.1"]) as s:
            account(s, "olga", "operator", password="olga-password")

            def login(user, password, forwarded):
                return s.request("POST", "/api/session", {"username": user, "password": password},
                                 token=None, headers={"X-Forwarded-For": forwarded})

            for i in range(20):  # the limit of one address
                self.assertEqual(login("guess%d" % i, "wrong-password", "203.0.113.66").status, 401)
            self.assertEqual(login("olga", "olga-password", "203.0.113.66").status, 429)
            # another client behind the same proxy is not held by that
            self.assertEqual(login("olga", "olga-password", "198.51.100.7, 127.0.0.1").status, 201)
            audit = s.get("/api/audit?action=login.succeeded").json["hits"]["hits"]
            self.assertEqual(audit[0]["address"], "198.51.100.7")
            failed = s.get("/api/audit?action=login.failed").json["hits"]["hits"]
            self.assertEqual({e["address"] for e in failed}, {"203.0.113.66"})
            # the failed sign-ins of a username are found by the user filter too, though no
            # one signed in (their entries have no actor), and its own entries still are
            mine = s.get("/api/audit?user=GUESS7").json["hits"]["hits"]
            self.assertEqual([(e["action"], e["details"]["username"]) for e in mine],
                             [("login.failed", "guess7")])
            olga = {e["action"] for e in s.get("/api/audit?user=olga&size=100").json["hits"]["hits"]}
            self.assertIn("login.succeeded", olga)
        # without the option the header is the client's say-so, and ignored
        with people_sked() as s:
            r = s.request("POST", "/api/session", {"username": "admin", "password": ADMIN_PW},
                          token=None, headers={"X-Forwarded-For": "203.0.113.9"})
            self.assertEqual(r.status, 201)
            self.assertEqual(s.get("/api/audit?action=login.succeeded").json["hits"]["hits"][0]["address"],
                             "127.0.0.1")

    def test_a_client_that_leaves_ends_its_attempt(self):
        """A sign-in whose client hangs up before the password is checked still ends: a wrong
        password counts as a failure, and nothing stays counted as under way (four such
        attempts held the account and the address at their limits until a restart)."""
        import socket
        with people_sked() as s:
            account(s, "olga", "operator", password="olga-password")
            body = json.dumps({"username": "olga", "password": "wrong-password"}).encode()
            req = b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            for _ in range(4):
                c = socket.create_connection(("127.0.0.1", s.port))
                c.sendall(req)
                c.close()
            # checked after those four: a success clears the account's count
            self.assertEqual(Session(s).login("olga", "olga-password").status, 201)
            # so two wrong passwords now are two plain failures, not the limit
            for _ in range(2):
                self.assertEqual(Session(s).login("olga", "wrong-password").status, 401)

    def test_a_live_log_stream_ends_with_its_callers_access(self):
        """A stream opened with a token, or in a session, ends within seconds once the token is
        revoked, the account disabled or the session signed out - not when the run ends."""
        with people_sked() as s:
            lena = account(s, "lena", "viewer", "lena-password")
            job = s.create_job("slow")
            run = s.run_job(job["id"])
            s.wait_run(run, statuses=("RUNNING",))

            def streams_until_denied(headers, cut):
                with skedtest.SSE(s, run, headers=headers, timeout=20) as sse:
                    self.assertEqual(sse.status, 200)
                    self.assertEqual(sse.next_event()["event"], "status")
                    began = time.monotonic()
                    cut()
                    rest = sse.read_all()  # returns once the server closes the stream
                    self.assertLess(time.monotonic() - began, 12)
                    self.assertEqual([e["event"] for e in rest], ["denied"])
                    self.assertIn("no longer valid", rest[0]["data"]["message"])
                self.assertEqual(s.request("GET", "/api/jobs/%s/runs/%s/logs/stream"
                                           % (job["id"], run["id"]), headers=headers, token=None).status, 401)

            r = s.post("/api/users/%s/tokens" % lena["id"], {"name": "stream"})
            streams_until_denied({"Authorization": "Bearer " + r.json["token"]},
                                 lambda: self.assertEqual(s.delete("/api/tokens/" + r.json["id"]).status, 204))
            web = Session(s)
            self.assertEqual(web.login("lena", "lena-password").status, 201)
            streams_until_denied({"Cookie": web.cookie},
                                 lambda: self.assertEqual(web.request("DELETE", "/api/session").status, 204))
            tok = token_for(s, lena, "second")
            streams_until_denied({"Authorization": "Bearer " + tok},
                                 lambda: self.assertEqual(s.patch("/api/users/" + lena["id"], {"disabled": True}).status, 200))
            # the run itself went on all along
            self.assertEqual(s.get_run(run)["status"], "RUNNING")

    def test_webhook_urls_are_shown_whole_to_admins_only(self):
        """A chat service's incoming-hook URL is a secret: who may only read jobs sees its
        scheme and host."""
        with people_sked() as s:
            viewer = token_for(s, account(s, "vera", "viewer"))
            operator = token_for(s, account(s, "otto", "operator"))
            secret = "https://hooks.example.org/services/T000/B000/XXXXSECRETXXXX"
            job = s.create_job("quick", notification_statuses=["FAILED"],
                               notification_webhooks=[secret, "http://127.0.0.1:9",
                                                      "https://bot:SECRET@chat.example.org"])
            for tok in (viewer, operator):
                for doc in (s.get("/api/jobs/" + job["id"], token=tok).json,
                            s.get("/api/jobs", token=tok).json["hits"]["hits"][0]):
                    self.assertEqual(doc["notification_webhooks"],
                                     ["https://hooks.example.org/…", "http://127.0.0.1:9",
                                      "https://chat.example.org/…"])
                    self.assertNotIn("SECRET", json.dumps(doc))
            # the admin's read is its own document, not one kept from another's
            self.assertEqual(s.get("/api/jobs/" + job["id"]).json["notification_webhooks"],
                             [secret, "http://127.0.0.1:9", "https://bot:SECRET@chat.example.org"])
            self.assertEqual(s.get("/api/jobs/" + job["id"], token=viewer).json["notification_webhooks"][0],
                             "https://hooks.example.org/…")
            # saved by an older sked, which let other characters follow the host: cut there
            db = sqlite3.connect(s.db, timeout=10)
            db.execute("UPDATE job SET notifications = json_set(notifications, '$.webhooks', "
                       "json(?)) WHERE id = ?",
                       (json.dumps(["https://hooks.example.org;SECRET", "https://h\\SECRET"]), job["id"]))
            db.commit()
            db.close()
            self.assertEqual(s.get("/api/jobs/" + job["id"], token=viewer).json["notification_webhooks"],
                             ["https://hooks.example.org/…", "https://h/…"])

    def test_a_webhook_as_others_read_it_cannot_replace_the_whole_one(self):
        """The form shown to those who are no admin is no URL sked takes, so an admin who
        writes back a job an operator read is refused rather than left with hooks that go
        nowhere; a URL with characters that are not ASCII is told to percent-encode them."""
        with people_sked() as s:
            operator = token_for(s, account(s, "otto", "operator"))
            hooks = ["https://hooks.example.org/services/T0/B0/XSECRET", "https://bot:pw@chat.example.org",
                     "http://127.0.0.1:9"]
            job = s.create_job("quick", notification_webhooks=hooks)
            read = s.get("/api/jobs/" + job["id"], token=operator).json
            r = s.put("/api/jobs/" + job["id"], read)
            self.assertEqual(r.status, 400, r)
            self.assertEqual([e["field"] for e in r.json["errors"]], ["notification_webhooks"])
            self.assertEqual(r.json["errors"][0]["messages"], [
                "'%s' is a URL as shown to those who are no admin, cut after its host ('…'): give "
                "the whole URL, which only admins read" % u
                for u in ("https://hooks.example.org/…", "https://chat.example.org/…")])
            self.assertEqual(s.get("/api/jobs/" + job["id"]).json["notification_webhooks"], hooks)
            for url in ("https://h.example.org/café", "https://h.example.org/?q=ü"):
                r = s.patch("/api/jobs/" + job["id"], {"notification_webhooks": [url]})
                self.assertEqual(r.status, 400, r)
                self.assertIn("holds a character that is not ASCII: percent-encode it as its UTF-8 "
                              "bytes (é as %C3%A9)", r.json["errors"][0]["messages"][0])
            r = s.patch("/api/jobs/" + job["id"], {"notification_webhooks": ["https://h.example.org/caf%C3%A9"]})
            self.assertEqual(r.status, 200, r)

    def test_an_admins_change_made_while_a_password_is_checked_stands(self):
        """A person's own change waits for their password's check, off the loop; an admin who
        disables and demotes them meanwhile must not be undone by it."""
        import threading
        with people_sked() as s:
            mallory = account(s, "mallory", "admin", password="mallory-password")
            me = Session(s)
            self.assertEqual(me.login("mallory", "mallory-password").status, 201)
            # keep the password thread busy, so the own change waits in line
            busy = [threading.Thread(target=lambda i=i: Session(s).login("nobody%d" % i, "wrong-pass"))
                    for i in range(4)]
            for t in busy:
                t.start()
            own = {}
            t = threading.Thread(target=lambda: own.update(r=me.request(
                "PATCH", "/api/users/me", {"display_name": "Mallory M.", "current_password": "mallory-password"})))
            t.start()
            time.sleep(0.05)
            r = s.patch("/api/users/" + mallory["id"], {"disabled": True, "role": "viewer"})
            self.assertEqual(r.status, 200, r)
            for x in busy + [t]:
                x.join()
            now = s.get("/api/users/" + mallory["id"]).json
            self.assertEqual((now["disabled"], now["role"]), (True, "viewer"), now)
            # the own change, if it went through, changed its own field only
            if own["r"].status == 200:
                self.assertEqual(now["display_name"], "Mallory M.")

    def test_own_password_change_ends_other_sessions_and_is_limited(self):
        with people_sked() as s:
            account(s, "olga", "operator", password="olga-password")
            thief, me = Session(s), Session(s)
            thief.login("olga", "olga-password")
            me.login("olga", "olga-password")
            r = me.request("PATCH", "/api/users/me", {"password": "olga-password-2", "current_password": "olga-password"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(me.request("GET", "/api/jobs").status, 200)
            self.assertEqual(thief.request("GET", "/api/jobs").status, 401)
            # guessing the current password is a sign-in attempt: limited and audited
            for i in range(5):
                r = me.request("PATCH", "/api/users/me", {"password": "whatever-new", "current_password": "guess-%d" % i})
                self.assertEqual(r.status, 403)
            r = me.request("PATCH", "/api/users/me", {"password": "whatever-new", "current_password": "olga-password-2"})
            self.assertEqual(r.status, 429)
            fails = s.get("/api/audit?action=login.failed&size=50").json["hits"]["hits"]
            self.assertEqual(sum(1 for e in fails if e["details"].get("during") == "password change"), 5)

    def test_a_job_type_may_keep_its_runs_to_the_saved_arguments_for_operators(self):
        """"operator_args": false: an operator starts the job with what an admin saved (an
        http job type would otherwise let them call any address sked reaches)."""
        fixed = skedtest.sh_task("fixed", 'echo "$1"', ["{{what}}"], operator_args=False, arguments={
            "type": "object", "properties": {"what": {"type": "string", "default": "saved"}}})
        with Sked(tasks={"fixed.json": fixed, "quick.json": skedtest.sh_task("quick", "true")},
                  args=["--stop-grace", "1s"]) as s:
            self.assertEqual({t["id"]: t["operator_args"] for t in s.get("/api/tasks").json["hits"]["hits"]},
                             {"fixed": False, "quick": True})
            job = s.create_job("fixed", args={"what": "admin's"})
            op = token_for(s, account(s, "olga", "operator"))
            for body in ({"args": {"what": "mine"}}, {"custom_args": {"what": "mine"}}):
                r = s.request("POST", "/api/jobs/%s/runs" % job["id"], body, token=op)
                self.assertEqual(r.status, 403, (body, r))
                self.assertIn('"operator_args": false', r.json["message"])
            run = s.request("POST", "/api/jobs/%s/runs" % job["id"], {"title": "by olga"}, token=op).json
            self.assertEqual(s.wait_run(run)["args"]["what"], "admin's")
            # an admin still may; other job types are not concerned
            run = s.post("/api/jobs/%s/runs" % job["id"], {"args": {"what": "adm"}}).json
            self.assertEqual(s.wait_run(run)["args"]["what"], "adm")
            other = s.create_job("quick")
            r = s.request("POST", "/api/jobs/%s/runs" % other["id"], {"custom_args": {"a": 1}}, token=op)
            self.assertEqual(r.status, 201, r)

    def test_a_sign_in_sent_from_another_sites_page_is_refused(self):
        """A cross-site form (text/plain can carry JSON) must not sign the browser in to the
        attacker's account: the browser's Sec-Fetch-Site tells sked where it came from."""
        with people_sked() as s:
            account(s, "mallory", "viewer", password="mallory-password")
            body = {"username": "mallory", "password": "mallory-password"}
            for site in ("cross-site", "same-site"):  # another site, or a sibling host of it
                r = s.request("POST", "/api/session", body, token=None,
                              headers={"Sec-Fetch-Site": site, "Content-Type": "text/plain"})
                self.assertEqual(r.status, 403, (site, r))
                self.assertNotIn("Set-Cookie", r.headers)
                self.assertIn("another site's page", r.json["message"])
            for site in ("same-origin", "none", None):  # sked's page, a typed address, curl
                h = {"Sec-Fetch-Site": site} if site else {}
                r = s.request("POST", "/api/session", body, token=None, headers=h)
                self.assertEqual(r.status, 201, (site, r))
            # a browser that does not send Sec-Fetch-Site still names the page's origin
            for origin, want in (("http://evil.example", 403), ("null", 403),
                                 ("http://127.0.0.1:%d" % s.port, 201)):
                r = s.request("POST", "/api/session", body, token=None, headers={"Origin": origin})
                self.assertEqual(r.status, want, (origin, r))
        # behind a proxy that passes another Host on, the public address is sked's own
        with people_sked(env={"SKED_PUBLIC_URL": "https://sked.example.org/ops/"}) as s:
            account(s, "mallory", "viewer", password="mallory-password")
            body = {"username": "mallory", "password": "mallory-password"}
            for origin, want in (("https://sked.example.org", 201), ("https://example.org", 403)):
                r = s.request("POST", "/api/session", body, token=None, headers={"Origin": origin})
                self.assertEqual(r.status, want, (origin, r))

    def test_an_admin_changing_their_own_password_in_a_browser_gives_the_current_one(self):
        with people_sked() as s:
            adm = account(s, "ada", "admin", password="ada-password")
            browser = Session(s)
            browser.login("ada", "ada-password")
            # a taken-over cookie must not be enough to take the account
            r = browser.request("PATCH", "/api/users/me", {"password": "ada-password-2"})
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "current_password"), r)
            self.assertEqual(browser.request("PATCH", "/api/users/me", {
                "password": "ada-password-2", "current_password": "ada-password"}).status, 200)
            # with a token, as for another's account, an admin sets it without
            r = s.request("PATCH", "/api/users/me", {"password": "ada-password-3"},
                          token=token_for(s, adm))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(Session(s).login("ada", "ada-password-3").status, 201)

    def test_an_admins_browser_gives_its_own_password_to_open_a_way_in(self):
        """What outlives a web session - a password set, a role raised, an account enabled -
        needs the admin's own password from a browser, checked as a sign-in is; what closes a
        way (a role lowered, an account disabled) and names do not; a token needs none."""
        with people_sked() as s:
            web = Session(s)
            self.assertEqual(web.login("admin", ADMIN_PW).status, 201)
            want = "required from a signed-in browser"

            def refused(r):
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "current_password"), r)
                return r.json["errors"][0]["messages"][0]

            new = {"username": "pat", "role": "viewer", "password": "pat-password"}
            self.assertIn(want, refused(web.request("POST", "/api/users", new)))
            r = web.request("POST", "/api/users", dict(new, current_password="not-it-at-all"))
            self.assertEqual((r.status, r.json["message"]), (403, "the current password is wrong"), r)
            names = [u["username"] for u in s.get("/api/users").json["hits"]["hits"]]
            self.assertNotIn("pat", names)  # neither refusal made it
            failed = s.get("/api/audit?action=login.failed").json["hits"]["hits"]
            self.assertEqual([(e["actor"]["name"], e["details"]) for e in failed],
                             [("admin", {"username": "admin", "during": "account creation"})])
            pat = web.request("POST", "/api/users", dict(new, current_password=ADMIN_PW))
            self.assertEqual(pat.status, 201, pat)
            pat = pat.json
            self.assertEqual(Session(s).login("pat", "pat-password").status, 201)
            # an account without a password opens nothing by itself
            bot = web.request("POST", "/api/users", {"username": "bot", "role": "admin"})
            self.assertEqual(bot.status, 201, bot)

            path = "/api/users/" + pat["id"]
            for body in ({"password": "pat-password-2"}, {"role": "operator"}, {"role": "admin"}):
                self.assertIn(want, refused(web.request("PATCH", path, body)))
            self.assertEqual(s.get(path).json["role"], "viewer")
            for body in ({"display_name": "Pat P."}, {"disabled": True}):  # closes, or only names
                self.assertEqual(web.request("PATCH", path, body).status, 200, body)
            self.assertIn(want, refused(web.request("PATCH", path, {"disabled": False})))
            self.assertTrue(s.get(path).json["disabled"])
            r = web.request("PATCH", path, {"disabled": False, "role": "operator", "current_password": ADMIN_PW})
            self.assertEqual((r.status, r.json.get("disabled"), r.json.get("role")), (200, False, "operator"), r)
            self.assertEqual(web.request("PATCH", path, {"role": "viewer"}).status, 200)  # lowered
            r = web.request("PATCH", path, {"password": "pat-password-2", "current_password": "wrong-wrong"})
            self.assertEqual(r.status, 403, r)
            self.assertEqual(Session(s).login("pat", "pat-password").status, 201)  # unchanged
            r = web.request("PATCH", path, {"password": "pat-password-2", "current_password": ADMIN_PW})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(Session(s).login("pat", "pat-password-2").status, 201)

            # an admin's token is a credential already: none of it asks
            adm = s.get("/api/users").json["hits"]["hits"]
            adm = next(u for u in adm if u["username"] == "admin")
            t = web.request("POST", "/api/users/%s/tokens" % adm["id"], {"name": "ops", "password": ADMIN_PW})
            self.assertEqual(t.status, 201, t)
            r = s.request("PATCH", path, {"password": "pat-password-3", "role": "admin"}, token=t.json["token"])
            self.assertEqual(r.status, 200, r)
            # nor can a token of an account without a password give one
            r = s.request("PATCH", path, {"role": "viewer", "current_password": "x" * 8},
                          token=token_for(s, bot.json))
            self.assertIn("you have no password to give", refused(r))

    def test_null_is_the_default_of_password_and_display_name(self):
        with people_sked() as s:
            r = s.post("/api/users", {"username": "nell", "role": "viewer", "password": None,
                                      "display_name": None})
            self.assertEqual(r.status, 201, r)
            self.assertEqual((r.json["display_name"], r.json["has_password"]), ("nell", False))
            r = s.patch("/api/users/" + r.json["id"], {"display_name": "Nell N."})
            self.assertEqual(r.json["display_name"], "Nell N.")
            r = s.patch("/api/users/" + r.json["id"], {"display_name": None, "password": None})
            self.assertEqual((r.status, r.json["display_name"], r.json["has_password"]),
                             (200, "nell", False), r)

    def test_audit_order_and_exact_prefix(self):
        with people_sked() as s:
            account(s, "a1", "viewer")
            account(s, "a2", "viewer")
            asc = s.get("/api/audit?sort_direction=asc&action=user.").json["hits"]["hits"]
            desc = s.get("/api/audit?action=user.").json["hits"]["hits"]
            self.assertEqual([e["id"] for e in asc], sorted(e["id"] for e in asc))
            self.assertEqual([e["id"] for e in asc], [e["id"] for e in reversed(desc)])
            # actions in any case; a kind named without its dot is the kind
            for spelling in ("USER.", "user", "User"):
                self.assertEqual(s.get("/api/audit?action=" + spelling).json["hits"]["total"], len(asc), spelling)
            for spelling in ("logout", "Login", "login.failed", "QUEUE.reason_changed", "run."):
                self.assertEqual(s.get("/api/audit?action=" + spelling).status, 200, spelling)
            # an action that is none, or a prefix that is no kind, would find nothing: refused
            for spelling in ("us_r.", "%25", "log", "bogus.thing", "run.stoped", "user..", "job.x",
                             "logout.", ".", "a" * 70):
                r = s.get("/api/audit?action=" + spelling)
                self.assertEqual(r.status, 400, (spelling, r))
                self.assertEqual(r.json["errors"][0]["field"], "action")
                self.assertIn("give an action (job.created, job.updated", r.json["errors"][0]["messages"][0])
                self.assertIn("queue.resumed) or a kind of them, with or without its dot (job, run, "
                              "user, token, login, queue)", r.json["errors"][0]["messages"][0])
            # parameters that cannot match are refused, not answered with nothing
            for path, field in (("/api/audit?job_id=nope", "job_id"), ("/api/tokens?all=yes", "all"),
                                ("/api/tokens?al=true", "al"), ("/api/tokens?all=true&all=false", "all"),
                                ("/api/audit?acton=user.", "acton"), ("/api/audit?since=", "since")):
                r = s.get(path)
                self.assertEqual(r.status, 400, path)
                self.assertEqual(r.json["errors"][0]["field"], field, path)
            for v in ("false", "0", "FALSE"):
                self.assertEqual(s.get("/api/tokens?all=" + v).status, 200, v)
            self.assertEqual(s.get("/api/tokens?all=1").json["hits"], s.get("/api/tokens?all=true").json["hits"])
            job = s.create_job("quick")
            mine = s.get("/api/audit?job_id=" + job["id"]).json["hits"]["total"]
            self.assertGreater(mine, 0)
            self.assertEqual(s.get("/api/audit?job_id=" + job["id"].upper()).json["hits"]["total"], mine)

    def test_a_password_checked_across_a_reset_on_the_machine_gets_nothing(self):
        """`sked user passwd` writes the store itself and ends the account's sessions. A sign-in
        with the old password that came before it but waited for the password thread meanwhile
        must not get a session after it, nor a token made from a session with the old password
        be made: the password was checked against a hash that is gone."""
        import select
        import socket
        with people_sked() as s:
            account(s, "victor", "viewer", password="victor-password-1")
            browser = Session(s)
            self.assertEqual(browser.login("victor", "victor-password-1").status, 201)

            def send(addr, path, body, headers=b""):
                body = json.dumps(body).encode()
                c = socket.create_connection(("127.0.0.1", s.port), timeout=120, source_address=(addr, 0))
                c.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Length: %d\r\n\r\n"
                          % (path.encode(), headers, len(body)) + body)
                return c

            def answer(c):
                return skedtest.Response(*skedtest.parse_responses(skedtest.read_to_close(c))[0])

            # others' sign-ins first (each address under its limit): victor's checks wait behind
            # theirs for the one thread that checks passwords, a while
            others = [send("127.0.0.%d" % (2 + i // 10), "/api/session",
                           {"username": "nobody%d" % i, "password": "wrong-password"}) for i in range(28)]
            sign_in = send("127.0.0.5", "/api/session", {"username": "victor", "password": "victor-password-1"})
            token = send("127.0.0.6", "/api/tokens", {"name": "laptop", "password": "victor-password-1"},
                         b"Cookie: %s\r\nX-CSRF-Token: %s\r\n" % (browser.cookie.encode(), browser.csrf.encode()))
            # an answer on a connection made after they were sent: the loop has read them by now
            self.assertEqual(s.get("/healthz").status, 200)
            r = subprocess.run([skedtest.BIN, "user", "passwd", "victor", "--password-stdin", "--db", s.db],
                               input="victor-password-2\n", capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            # not answered before the reset ended: checked after it
            waiting = {c for c in (sign_in, token) if not select.select([c], [], [], 0)[0]}
            got, made = answer(sign_in), answer(token)
            for c in others:
                answer(c)
            if sign_in in waiting:
                self.assertEqual(got.status, 401, got)
                self.assertIn("wrong username or password", got.json["message"])
            else:  # checked before the reset: the reset ended what it got
                self.assertIn(got.status, (201, 401), got)
            if got.status == 201:
                r = s.request("GET", "/api/session", token=None,
                              headers={"Cookie": got.headers["set-cookie"].split(";")[0]})
                self.assertEqual(r.status, 401, r)
            if token in waiting:
                self.assertEqual(made.status, 403, made)
                self.assertEqual(made.json["message"], "the password is wrong")
            failed = s.get("/api/audit?action=login.failed&size=100").json["hits"]["hits"]
            self.assertEqual(len([e for e in failed if e["details"]["username"] == "victor"]), len(waiting))
            self.assertEqual(s.get("/api/tokens?all=true").json["hits"]["total"], 0 if token in waiting else 1)
            self.assertEqual(Session(s).login("victor", "victor-password-2").status, 201)


class Runs(unittest.TestCase):
    def test_started_by_and_stopped_by(self):
        with people_sked() as s:
            op = account(s, "olga", "operator")
            optok = token_for(s, op)
            job = s.create_job("slow")
            r = s.post("/api/jobs/%s/runs" % job["id"], {}, token=optok)
            self.assertEqual(r.status, 201)
            self.assertEqual(r.json["started_by"], {"id": op["id"], "name": "Olga"})
            self.assertEqual(r.json["started_by_id"], op["id"])
            run = r.json
            s.wait_run(run, ["RUNNING"])
            admin = Session(s)
            admin.login("admin", ADMIN_PW)
            st = admin.request("POST", "/api/jobs/%s/runs/%s/actions/stop" % (job["id"], run["id"]))
            self.assertEqual(st.status, 202)
            done = s.wait_run(run)
            self.assertEqual(done["status"], "CANCELLED")
            self.assertEqual(done["started_by"]["name"], "Olga")
            self.assertEqual(done["stopped_by"]["name"], "Administrator")
            listed = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"][0]
            self.assertEqual(listed["stopped_by"], done["stopped_by"])
            self.assertEqual(listed["started_by"], done["started_by"])
            # the scheduler starts runs as nobody
            quick = s.create_job("quick", schedule={"type": "interval", "hours": 1})
            runs = skedtest.wait_for(lambda: s.get("/api/jobs/%s/runs" % quick["id"]).json["hits"]["hits"])
            self.assertIsNone(runs[0]["started_by"])
            self.assertIsNone(runs[0]["started_by_id"])


class Audit(unittest.TestCase):
    def test_every_action_is_recorded(self):
        with people_sked() as s:
            admin = Session(s)
            admin.login("admin", ADMIN_PW)
            Session(s).login("admin", "not-the-password")
            job = admin.request("POST", "/api/jobs", {"title": "audited", "task": "slow"}).json
            admin.request("PATCH", "/api/jobs/" + job["id"], {"title": "audited 2", "description": "d"})
            admin.request("PATCH", "/api/jobs/" + job["id"], {"schedule": {"type": "cron", "expression": "0 3 * * *"}})
            admin.request("PATCH", "/api/jobs/" + job["id"], {"active": False})
            admin.request("PATCH", "/api/jobs/" + job["id"], {"active": True})
            run = admin.request("POST", "/api/jobs/%s/runs" % job["id"], {}).json
            s.wait_run(run, ["RUNNING"])
            admin.request("POST", "/api/jobs/%s/runs/%s/actions/stop" % (job["id"], run["id"]))
            s.wait_run(run)
            admin.request("DELETE", "/api/jobs/%s/runs/%s" % (job["id"], run["id"]))
            u = admin.request("POST", "/api/users", {"username": "pat", "role": "viewer", "password": "pat-password",
                                                     "current_password": ADMIN_PW}).json
            admin.request("PATCH", "/api/users/" + u["id"], {"role": "operator", "current_password": ADMIN_PW})
            admin.request("PATCH", "/api/users/" + u["id"], {"password": "pat-password-2", "current_password": ADMIN_PW})
            t = admin.request("POST", "/api/users/%s/tokens" % u["id"], {"name": "pat-ci", "password": ADMIN_PW}).json
            admin.request("DELETE", "/api/tokens/" + t["id"])
            admin.request("DELETE", "/api/users/" + u["id"])
            admin.request("DELETE", "/api/jobs/" + job["id"])
            admin.request("DELETE", "/api/session")

            entries = s.get("/api/audit?size=100").json["hits"]["hits"]
            actions = [e["action"] for e in reversed(entries)]
            self.assertEqual(actions, [
                "login.succeeded", "login.failed", "job.created", "job.updated", "job.scheduled",
                "job.updated", "job.deactivated", "job.updated", "job.activated", "job.updated",
                "run.started", "run.stopped", "run.deleted", "user.created", "user.updated",
                "user.password_changed", "token.created", "token.revoked", "user.deleted",
                "job.deleted", "logout"])
            by = {e["action"]: e for e in entries}
            upd = [e for e in entries if e["action"] == "job.updated"][-1]  # the first edit
            self.assertEqual(upd["details"]["changes"]["title"], {"before": "audited", "after": "audited 2"})
            self.assertEqual(upd["details"]["changes"]["description"], {"before": None, "after": "d"})
            self.assertEqual(upd["actor"]["name"], "admin")
            self.assertEqual(upd["actor"]["kind"], "user")
            self.assertEqual(upd["address"], "127.0.0.1")
            self.assertEqual(upd["job_id"], job["id"])
            self.assertEqual(by["job.scheduled"]["details"]["after"], {"type": "cron", "expression": "0 3 * * *"})
            self.assertEqual(by["run.stopped"]["run_id"], run["id"])
            self.assertEqual(by["login.failed"]["details"], {"username": "admin"})
            self.assertIsNone(by["login.failed"]["actor"]["name"])
            self.assertEqual(by["user.updated"]["details"]["changes"]["role"], {"before": "viewer", "after": "operator"})
            self.assertNotIn("pat-password", json.dumps(entries))
            # filters and paging
            f = s.get("/api/audit?job_id=%s&size=100" % job["id"]).json
            self.assertTrue(all(e["job_id"] == job["id"] for e in f["hits"]["hits"]))
            # the job is deleted by now: its entries stay, without a title
            self.assertEqual({e["job_title"] for e in f["hits"]["hits"]}, {None})
            self.assertEqual(by["login.failed"]["job_title"], None)
            self.assertEqual(f["hits"]["total"], 12)
            # the unfiltered total (the span of ids of an append-only trail) is the number of entries
            everything = s.get("/api/audit?size=1000").json["hits"]
            self.assertEqual(everything["total"], len(everything["hits"]))
            self.assertEqual([e["action"] for e in s.get("/api/audit?action=run.stopped").json["hits"]["hits"]], ["run.stopped"])
            self.assertEqual({e["action"].split(".")[0] for e in s.get("/api/audit?action=user.&size=100").json["hits"]["hits"]}, {"user"})
            # admin's 20, and the failed sign-in that tried the username admin
            self.assertEqual(len(s.get("/api/audit?user=admin&size=100").json["hits"]["hits"]), 21)
            page = s.get("/api/audit?size=5&page=2").json
            self.assertEqual(len(page["hits"]["hits"]), 5)
            self.assertIn("next", page["links"])
            future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
            self.assertEqual(s.get("/api/audit?since=" + future).json["hits"]["total"], 0)
            self.assertEqual(s.get("/api/audit?since=yesterday").status, 400)
            # append-only, even for someone with the store in hand
            db = sqlite3.connect(s.db)
            with self.assertRaises(sqlite3.DatabaseError):
                db.execute("UPDATE audit SET action = 'x'")
            with self.assertRaises(sqlite3.DatabaseError):
                db.execute("DELETE FROM audit")
            db.close()

    def test_action_filters_match_sql(self):
        """Every action filter, exact or a prefix, alone or with others, in either order and on
        any page, takes the entries SQL takes: run.started (most of a trail, kept out of the
        index by action) and the actions in that index alike, past the size where a prefix's
        page is read in the trail's order instead of sorted. An action that is no action of the
        trail (runner.x stands for one an older or newer version might have written) is a row a
        kind must not take; as a filter it is refused."""
        with people_sked() as s:
            job = s.create_job("quick")
            s.stop()
            db = sqlite3.connect(s.db)
            actions = ["run.started"] * 5 + ["job.updated"] * 4 + ["run.stopped", "user.created", "runner.x"]
            t0 = int(time.time() * 1e6) - 100000
            db.executemany("INSERT INTO audit (ts, actor_kind, actor_name, action, job_id, details) "
                           "VALUES (?, 'token', 'bootstrap', ?, ?, '{}')",
                           [(t0 + i, actions[i % len(actions)], job["id"] if i % 3 else None)
                            for i in range(16800)])
            db.commit()
            rows = db.execute("SELECT id, action, job_id, ts FROM audit ORDER BY id").fetchall()
            db.close()
            s.start()
            since = rows[7000][3]
            since_text = datetime.fromtimestamp(since / 1e6, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            for action in ["runner.x", "runner.", "run.st", "run.started.", "nothing."]:
                self.assertEqual(s.get("/api/audit?action=" + action).status, 400, action)
            for action in ["run.started", "job.updated", "run.stopped", "user.created", "run.",
                           "job.", "user.", "login."]:
                for extra, keep in [("", lambda r: True),
                                    ("&job_id=" + job["id"], lambda r: r[2] == job["id"]),
                                    ("&since=" + since_text, lambda r: r[3] >= since)]:
                    want = [r[0] for r in rows if keep(r) and
                            (r[1].startswith(action) if action.endswith(".") else r[1] == action)]
                    for q in ("page=1", "page=3&sort_direction=asc", "page=40"):
                        with self.subTest(action=action, extra=extra, q=q):
                            r = s.get("/api/audit?size=100&action=%s%s&%s" % (action, extra, q))
                            self.assertEqual(r.status, 200, r)
                            self.assertEqual(r.json["hits"]["total"], len(want))
                            order = want if "asc" in q else want[::-1]
                            page = int(q.split("&")[0][5:])
                            self.assertEqual([e["id"] for e in r.json["hits"]["hits"]],
                                             order[(page - 1) * 100:page * 100])


class Accounts(unittest.TestCase):
    def test_validation_and_own_changes(self):
        with people_sked() as s:
            for body, field in (({"username": "a b", "role": "viewer"}, "username"),
                                ({"username": "x", "role": "root"}, "role"),
                                ({"username": "x"}, "role"),
                                ({"username": "x", "role": "viewer", "password": "short"}, "password"),
                                ({"username": "x", "role": "viewer", "email": "e"}, "email")):
                r = s.post("/api/users", body)
                self.assertEqual(r.status, 400, body)
                self.assertIn(field, [e["field"] for e in r.json["errors"]])
            v = account(s, "vera", "viewer", password="vera-password")
            self.assertEqual(s.post("/api/users", {"username": "VERA", "role": "viewer"}).status, 409)
            b = Session(s)
            b.login("vera", "vera-password")
            self.assertEqual(b.request("GET", "/api/users/me").json["username"], "vera")
            self.assertEqual(b.request("GET", "/api/users/" + v["id"]).status, 200)
            admin_id = s.get("/api/users").json["hits"]["hits"][0]["id"]
            # others' accounts do not exist for her: ids cannot be probed
            self.assertEqual(b.request("GET", "/api/users/" + admin_id).status, 404)
            self.assertEqual(b.request("PATCH", "/api/users/" + admin_id, {"display_name": "x"}).status, 404)
            self.assertEqual(b.request("GET", "/api/users/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12).status, 404)
            # her own password: the current one is required and checked
            r = b.request("PATCH", "/api/users/me", {"password": "vera-password-2"})
            self.assertEqual(r.status, 400)
            r = b.request("PATCH", "/api/users/me", {"password": "vera-password-2", "current_password": "nope-nope"})
            self.assertEqual(r.status, 403)
            r = b.request("PATCH", "/api/users/me", {"password": "vera-password-2", "current_password": "vera-password"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(b.request("GET", "/api/jobs").status, 200)  # her session lives on
            self.assertEqual(Session(s).login("vera", "vera-password-2").status, 201)
            # but not her role
            r = b.request("PATCH", "/api/users/me", {"role": "admin"})
            self.assertEqual(r.status, 400)
            self.assertEqual(s.get("/api/users/" + v["id"]).json["role"], "viewer")

    def test_names_passwords_and_accounts_without_one(self):
        """Names are one line and not blank; a password's rule is said as it is; an account
        without a password is told who sets one, and nothing counts as a failed sign-in; a
        current_password from a caller who has none (the bootstrap token) is refused, not
        checked."""
        with people_sked() as s:
            for body, field, needle in (
                    ({"username": "zoë", "role": "viewer"}, "username", "ASCII letters"),
                    ({"username": "x", "role": "viewer", "display_name": "   "}, "display_name", "must not be blank"),
                    ({"username": "x", "role": "viewer", "display_name": "a\u0007b"}, "display_name", "without control characters"),
                    ({"username": "x", "role": "viewer", "display_name": "a\nb"}, "display_name", "one line"),
                    ({"username": "x", "role": "viewer", "password": 5}, "password", "must be a string of 8 to 1024 characters")):
                r = s.post("/api/users", body)
                self.assertEqual(r.status, 400, body)
                errs = {e["field"]: e["messages"][0] for e in r.json["errors"]}
                self.assertIn(needle, errs.get(field, ""), (body, errs))
            bot = account(s, "bot", "operator")  # a token, no password
            for name in ("  ", "a\nb"):  # a token's name too, shown in lists
                r = s.post("/api/users/%s/tokens" % bot["id"], {"name": name})
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "name"), r)
            b = s.request("PATCH", "/api/users/me", {"password": "bot-password-1"}, token=token_for(s, bot))
            self.assertEqual(b.status, 400, b)
            msg = b.json["errors"][0]["messages"][0]
            self.assertEqual(b.json["errors"][0]["field"], "password")
            self.assertIn("this account has no password", msg)
            self.assertIn("sked user passwd bot", msg)
            r = s.request("PATCH", "/api/users/me", {"password": "bot-password-1", "current_password": "x" * 8},
                          token=token_for(s, bot, "t2"))
            self.assertEqual(r.status, 400)
            vera = account(s, "vera", "viewer", password="vera-password")
            r = s.patch("/api/users/" + vera["id"], {"password": "vera-password-2", "current_password": "guess-guess"})
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "current_password"))
            self.assertIn("you have no password to give", r.json["errors"][0]["messages"][0])
            fails = s.get("/api/audit?action=login.failed").json["hits"]["total"]
            self.assertEqual(fails, 0)

    def test_bootstrap_and_me_are_no_usernames(self):
        """'bootstrap' names the bootstrap token in the audit trail's user filter and 'me' the
        caller's own account: neither can be a new account's name, in any case, through the
        API or the CLI; an account given one before keeps it."""
        with people_sked() as s:
            for name, words in (("bootstrap", "'bootstrap' is reserved"), ("BootStrap", "'bootstrap' is reserved"),
                                ("me", "'me' is reserved"), ("ME", "/api/users/me is the caller's own account")):
                r = s.post("/api/users", {"username": name, "role": "viewer"})
                self.assertEqual(r.status, 400, (name, r))
                self.assertEqual(r.json["errors"][0]["field"], "username")
                self.assertIn(words, r.json["errors"][0]["messages"][0])
                self.assertIn("choose another username", r.json["errors"][0]["messages"][0])
                c = subprocess.run([skedtest.BIN, "user", "add", name, "--role", "viewer", "--no-password",
                                    "--db", s.db], capture_output=True, text=True, timeout=60)
                self.assertEqual(c.returncode, 2, c)
                self.assertIn(words, c.stderr)
            for name in ("meg", "bootstrapper", "me.too"):
                self.assertEqual(s.post("/api/users", {"username": name, "role": "viewer"}).status, 201, name)
            # stored by an earlier version: left alone, and it signs in
            with sqlite3.connect(s.db) as db:
                db.execute("INSERT INTO account (id, username, display_name, role, disabled, created, "
                           "updated) VALUES ('7e1f0c4e-0000-4000-8000-000000000001', 'me', 'me', "
                           "'viewer', 0, 1, 1)")
            self.assertIn("me", [u["username"] for u in s.get("/api/users").json["hits"]["hits"]])
            me = {"id": "7e1f0c4e-0000-4000-8000-000000000001"}
            self.assertEqual(s.request("GET", "/api/users/me", token=token_for(s, me)).json["username"], "me")

    def test_http_edges(self):
        """A probe at a path that is no page gets 404 (a browser the UI's own not-found page);
        answers are not cached; a header read once is refused when sent twice; a session
        cookie in a second Cookie line (a proxy's split of an HTTP/2 client's) counts."""
        with people_sked() as s:
            r = s.get("/health", token=None)
            self.assertEqual((r.status, r.headers.get("Content-Type")), (404, "application/json"))
            self.assertIn("no such route: /health", r.json["message"])
            r = s.get("/no/such/page", token=None, headers={"Accept": "text/html,*/*"})
            self.assertEqual(r.status, 404)
            self.assertIn("<html", r.raw.lower())
            for path in ("/", "/jobs", "/jobs/x/runs/y", "/queues"):
                self.assertEqual(s.get(path, token=None).status, 200, path)
            r = s.post("/api/users/%s/tokens" % account(s, "ops", "operator")["id"], {"name": "x"})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.headers.get("Cache-Control"), "no-store")
            self.assertEqual(s.get("/app.js", token=None).headers.get("Cache-Control"), "no-cache")
            b = Session(s)
            r = b.login("admin", ADMIN_PW)
            self.assertEqual(r.headers.get("Cache-Control"), "no-store")
            for first, second in (("Bearer " + skedtest.TOKEN, "Bearer nope"), ("Bearer nope", "Bearer " + skedtest.TOKEN)):
                out = s.raw(("GET /api/jobs HTTP/1.1\r\nHost: t\r\nAuthorization: %s\r\n"
                             "Authorization: %s\r\nConnection: close\r\n\r\n" % (first, second)).encode())
                self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:200])
                self.assertIn(b"the Authorization header is given twice; send it once", out)
            out = s.raw(("GET /api/users/me HTTP/1.1\r\nHost: t\r\nCookie: theme=dark\r\n"
                         "Cookie: %s\r\nConnection: close\r\n\r\n" % b.cookie).encode())
            self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:200])

    def test_last_admin_is_protected(self):
        with people_sked() as s:
            admin = s.get("/api/users").json["hits"]["hits"][0]
            for body in ({"role": "viewer"}, {"disabled": True}):
                r = s.patch("/api/users/" + admin["id"], body)
                self.assertEqual(r.status, 409, body)
                self.assertIn("last enabled admin", r.json["message"])
            self.assertEqual(s.delete("/api/users/" + admin["id"]).status, 409)
            second = account(s, "root2", "admin")
            self.assertEqual(s.patch("/api/users/" + admin["id"], {"role": "viewer"}).status, 200)
            self.assertEqual(s.delete("/api/users/" + second["id"]).status, 409)

    def test_a_display_name_cannot_pass_for_someone_else(self):
        """A display name is what runs show as their starter: none may read as another
        account's name, nor as what sked shows for what no person did - in any case, with
        white space around it or characters that take no room."""
        with people_sked() as s:
            olga = account(s, "olga", "operator")  # shown as "Olga"
            victor = account(s, "victor", "viewer")
            mine = token_for(s, victor)
            taken = "(its username or display name): choose a display name of your own"
            no_one = "is what sked shows for what no person did"
            for name, words in (("Administrator", taken), ("  ADMINISTRATOR ", taken),
                                ("Administrator\u200b", taken), ("admin", taken),
                                ("olga", taken), ("OLGA", taken), ("Bootstrap  Token", no_one),
                                ("bootstrap", no_one), ("System", no_one), ("anonymous", no_one),
                                ("Olga (API token)", "must not end in '(API token)' or '(command line)'"),
                                ("root (Command Line)", "must not end in")):
                r = s.patch("/api/users/me", {"display_name": name}, token=mine)
                self.assertEqual(r.status, 400, (name, r))
                self.assertEqual(r.json["errors"][0]["field"], "display_name", name)
                self.assertIn(words, r.json["errors"][0]["messages"][0], name)
                # nor may an admin give one, to an account made or changed
                r = s.patch("/api/users/" + victor["id"], {"display_name": name})
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "display_name"), name)
                r = s.post("/api/users", {"username": "newcomer", "role": "viewer", "display_name": name})
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "display_name"), name)
            self.assertEqual(s.get("/api/users/me", token=mine).json["display_name"], "Victor")
            # a run started with it would have shown the name
            self.assertNotIn("newcomer", [u["username"] for u in s.get("/api/users").json["hits"]["hits"]])
            # its own username is always its own, and a name of its own is fine
            for name in ("VICTOR", "Victor V.", "Olga's colleague", "Systems team", None):
                r = s.patch("/api/users/me", {"display_name": name}, token=mine)
                self.assertEqual(r.status, 200, (name, r))
            self.assertEqual(s.patch("/api/users/" + olga["id"], {"display_name": "Olga"}).status, 200)
            r = s.post("/api/users", {"username": "vera", "role": "viewer"})  # shown as "vera"
            self.assertEqual(r.status, 201, r)
            self.assertEqual(s.patch("/api/users/me", {"display_name": "Vera"}, token=mine).status, 400)


class Secrets(unittest.TestCase):
    def test_no_secret_survives_its_creation(self):
        with people_sked() as s:
            op = account(s, "olga", "operator", password="olga-secret-password")
            secret = token_for(s, op)
            b = Session(s)
            b.login("olga", "olga-secret-password")
            sid = b.cookie.split("=", 1)[1]
            s.get("/api/jobs", token=secret)
            s.get("/api/jobs", token="sked_wrong" + "1" * 32)
            responses = [s.get(p).raw for p in ("/api/users", "/api/tokens?all=true", "/api/audit?size=100",
                                                 "/api/users/" + op["id"])]
            responses.append(b.request("GET", "/api/session").raw)
            for text in responses:
                for needle in (secret, "olga-secret-password", ADMIN_PW, sid, skedtest.TOKEN):
                    self.assertNotIn(needle, text)
            s.stop()
            blobs = b""
            for name in os.listdir(s.tmp):
                if name.startswith("sked.db"):
                    with open(os.path.join(s.tmp, name), "rb") as f:
                        blobs += f.read()
            log = s.server_log()
            for needle in (secret, "olga-secret-password", ADMIN_PW, sid, skedtest.TOKEN):
                self.assertNotIn(needle.encode(), blobs, needle)
                self.assertNotIn(needle, log, needle)
            s.start()


class Cli(unittest.TestCase):
    def cli(self, *args, stdin=None):
        return subprocess.run([skedtest.BIN] + list(args), input=stdin, capture_output=True, text=True, timeout=60)

    def test_store_level_recovery(self):
        with people_sked() as s:
            db = ["--db", s.db]
            r = self.cli("user", "add", "ops", "--role", "operator", "--password-stdin", *db, stdin="ops-password\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(Session(s).login("ops", "ops-password").status, 201)
            r = self.cli("user", "list", "--json", *db)
            self.assertEqual(sorted(u["username"] for u in json.loads(r.stdout)["hits"]["hits"]), ["admin", "ops"])
            # a locked-out admin recovers
            r = self.cli("user", "passwd", "admin", "--password-stdin", *db, stdin="recovered-password\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(Session(s).login("admin", "recovered-password").status, 201)
            # tokens made on the machine work against the running server
            r = self.cli("token", "create", "--user", "ops", "--name", "cron", *db)
            self.assertEqual(r.returncode, 0, r.stderr)
            secret = r.stdout.strip()
            self.assertEqual(s.get("/api/session", token=secret).json["user"]["username"], "ops")
            r = self.cli("token", "list", "--user", "ops", "--json", *db)
            t = json.loads(r.stdout)["hits"]["hits"][0]
            self.assertNotIn(secret, r.stdout)
            r = self.cli("token", "revoke", t["id"], *db)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(s.get("/api/jobs", token=secret).status, 401)
            # what the CLI did is in the audit trail, by the local user
            acts = [(e["action"], e["actor"]["kind"]) for e in s.get("/api/audit?size=100").json["hits"]["hits"]]
            for a in ("user.created", "user.password_changed", "token.created", "token.revoked"):
                self.assertIn((a, "cli"), acts)
            # refusals
            self.assertEqual(self.cli("user", "delete", "admin", "--yes", *db).returncode, 1)  # not the last admin... ops is no admin
            self.assertEqual(self.cli("user", "delete", "ops", *db).returncode, 2)  # needs --yes
            self.assertEqual(self.cli("user", "delete", "ops", "--yes", *db).returncode, 0)
            self.assertEqual(self.cli("user", "add", "x", "--role", "god", *db).returncode, 2)
            self.assertEqual(self.cli("user", "add", "y", "--role", "viewer", "--password-stdin", *db, stdin="short\n").returncode, 1)
            # the longest password allowed, 1,024 characters of several bytes, is kept whole;
            # a longer one, or one that is no UTF-8, is refused rather than cut or stored
            longest = "é" * 1023 + "🔑"
            r = self.cli("user", "passwd", "admin", "--password-stdin", *db, stdin=longest + "\r\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(Session(s).login("admin", longest).status, 201)
            self.assertEqual(Session(s).login("admin", longest[:549]).status, 401)
            r = self.cli("user", "passwd", "admin", "--password-stdin", *db, stdin="🔑" * 1025 + "\n")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("the password must be at most 1024 characters long", r.stderr)
            r = subprocess.run([skedtest.BIN, "user", "passwd", "admin", "--password-stdin", *db],
                               input=b"caf\xe9-latin-1-password\n", capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(b"the password must be text in UTF-8", r.stderr)
            self.assertEqual(Session(s).login("admin", longest).status, 201)
            self.assertEqual(self.cli("user", "list", "--db", os.path.join(s.tmp, "missing.db")).returncode, 1)
            self.assertEqual(self.cli("token", "create", "--user", "ghost", "--name", "x", *db).returncode, 1)


class SecretsTest(unittest.TestCase):
    """Arguments that refer to a secret ({"$secret": NAME}): the task gets the value of the
    file NAME in the secrets folder; jobs, runs, the audit trail and the store keep only the
    reference, and the run's log shows *** for the value."""

    PASSWORD = "pa55-w0rd-of-the-db"
    BEARER = "Bearer tok-0123456789abcdef"

    def setUp(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="sked-secrets-")
        for name, value in (("db_password", self.PASSWORD + "\n"), ("api.token", self.BEARER)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(value)
        schema = {"type": "object", "properties": {
            "password": {"type": "string", "minLength": 30}, "count": {"type": "integer"},
            "user": {"type": "string", "default": "app"}}}
        # the value reaches the task's stdin and its argv; it prints both, and its length
        self.tasks = {
            "show.json": skedtest.sh_task("show", 'cat; echo; echo "len=${#1} pw=$1"', ["{{password}}"],
                                          arguments=schema),
            "call.json": {"id": "call", "title": "call", "builtin": "http"},
            # a job type whose schema defaults an argument to a secret
            "deflt.json": skedtest.sh_task("deflt", 'echo "${#1}"', ["{{password}}"], arguments={
                "type": "object", "properties": {
                    "password": {"type": "string", "default": {"$secret": "db_password"}},
                    "note": {"type": "string"}}}),
        }

    def tearDown(self):
        import shutil
        shutil.rmtree(self.dir)

    def sked(self, secrets=True):
        return Sked(tasks=self.tasks, args=["--secrets-dir", self.dir] if secrets else [])

    def test_a_redirect_takes_no_secret_to_another_host(self):
        """The http builtin following redirects re-sent every header but Authorization, and a
        307's body, to any host the answer named: a request holding secrets follows redirects
        of its own origin only, and says where it was sent instead."""
        import http.server
        import threading
        got = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                got.append((self.headers["Host"], self.path, self.headers.get("X-Api-Key"), body))
                port = self.server.server_address[1]
                if self.path == "/start":  # to the same origin
                    self.send_response(307)
                    self.send_header("Location", "/next")
                elif self.path == "/next":  # to another host: localhost, not 127.0.0.1
                    self.send_response(307)
                    self.send_header("Location", "http://localhost:%d/other" % port)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            with self.sked() as s:
                job = s.create_job("call", args={
                    "url": "http://127.0.0.1:%d/start" % srv.server_address[1], "method": "POST",
                    "follow_redirects": True, "body": {"$secret": "api.token"},
                    "headers": {"X-Api-Key": {"$secret": "db_password"}}})
                run = s.wait_run(s.run_job(job["id"]))
                port = srv.server_address[1]
                self.assertEqual((run["status"], run["message"]), (
                    "FAILED", "the builtin failed: redirected to another host or scheme than the "
                              "request's, not followed: the request carries secrets\n"
                              "redirected (307) to http://localhost:%d/other" % port), run)
                self.assertEqual([(g[1], g[2], g[3]) for g in got],
                                 [("/start", self.PASSWORD, self.BEARER.encode()),
                                  ("/next", self.PASSWORD, self.BEARER.encode())])
                lines = [l["message"] for l in s.all_logs(run)]
                self.assertIn("redirected (307) to http://127.0.0.1:%d/next" % srv.server_address[1], lines)
                self.assertIn("redirected (307) to http://localhost:%d/other" % srv.server_address[1], lines)
        finally:
            srv.shutdown()
            srv.server_close()

    def test_the_task_gets_the_value_and_every_reader_the_reference(self):
        import http.server
        import threading
        got = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                got.append(self.headers.get("Authorization"))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        ref = {"$secret": "db_password"}
        try:
            with self.sked() as s:
                job = s.create_job("show", args={"password": ref, "count": 2})
                self.assertEqual(job["run_args"]["password"], ref)
                self.assertEqual(json.loads(job["default_args"])["password"], ref)
                run = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(run["status"], "SUCCESS", run)
                self.assertEqual(run["args"]["password"], ref)
                lines = [l["message"] for l in s.all_logs(run)]
                # the task had the value (its length), and its log shows *** for it
                self.assertIn("len=%d pw=***" % len(self.PASSWORD), lines)
                self.assertTrue(any('"password": "***"' in l or '"password":"***"' in l for l in lines), lines)
                # an http call's header from a secret, at any depth of the arguments
                call = s.create_job("call", args={"url": "http://127.0.0.1:%d/" % srv.server_address[1],
                                                  "headers": {"Authorization": {"$secret": "api.token"}}})
                crun = s.wait_run(s.run_job(call["id"]))
                self.assertEqual(crun["status"], "SUCCESS", crun)
                self.assertEqual(got, [self.BEARER])
                self.assertEqual(crun["args"]["headers"], {"Authorization": {"$secret": "api.token"}})
                # nowhere for readers: the API, the audit trail, the store's files
                seen = json.dumps([s.get("/api/jobs").json, s.get("/api/runs?size=50").json,
                                   s.get("/api/audit?size=100").json, lines,
                                   s.get("/api/jobs/%s/runs/%s/logs" % (call["id"], crun["id"])).json])
                for value in (self.PASSWORD, "tok-0123456789abcdef"):
                    self.assertNotIn(value, seen)
                stored = b""
                for name in os.listdir(s.tmp):
                    if name.startswith("sked.db"):  # the store, its WAL and shared memory
                        with open(os.path.join(s.tmp, name), "rb") as f:
                            stored += f.read()
                self.assertIn(b"db_password", stored)
                self.assertNotIn(self.PASSWORD.encode(), stored)
        finally:
            srv.shutdown()
            srv.server_close()

    def test_references_are_checked_when_saved_and_when_the_run_starts(self):
        with self.sked() as s:
            def refused(body, field, words, path="/api/jobs"):
                r = s.post(path, body)
                self.assertEqual(r.status, 400, (body, r))
                errs = {e["field"]: " ".join(e["messages"]) for e in r.json["errors"]}
                self.assertIn(field, errs, r.json)
                self.assertIn(words, errs[field])

            new = {"title": "t", "task": "show"}
            refused(dict(new, args={"password": {"$secret": "nope"}}), "args.password",
                    "secret 'nope': no such file in the secrets folder")
            refused(dict(new, args={"password": {"$secret": "../db_password"}}), "args.password",
                    "letters, digits")
            refused(dict(new, args={"count": {"$secret": "db_password"}}), "args.count",
                    "a secret stands for a string, and this argument is of type integer")
            refused(dict(new, custom_args={"x": [{"$secret": "gone"}]}), "custom_args.x[0]", "'gone'")
            job = s.create_job("show", args={"password": {"$secret": "db_password"}})
            refused({"args": {"password": {"$secret": "nope"}}}, "args.password", "'nope'",
                    path="/api/jobs/%s/runs" % job["id"])
            refused({"args": {"$secret": "db_password"}}, "args", "one argument's value",
                    path="/api/jobs/%s/runs" % job["id"])
            # the arguments as a whole: said once, why, and not also as a type the schema wants
            for path, body in (("/api/jobs", dict(new, args={"$secret": "db_password"})),
                               ("/api/jobs/%s/runs" % job["id"], {"args": {"$secret": "db_password"}})):
                r = s.post(path, body)
                self.assertEqual(r.json["errors"], [{"field": "args", "messages": [
                    "a secret stands for one argument's value, not for all of them"]}], r)
            # a secret taken away while a run waits: the run fails when it starts, saying which
            queue = s.get("/api/jobs/" + job["id"]).json["default_queue"]
            self.assertEqual(s.post("/api/queues/%s/actions/pause" % queue, {}).status, 200)
            waiting = s.run_job(job["id"])
            os.unlink(os.path.join(self.dir, "db_password"))
            r = s.post("/api/queues/%s/actions/resume" % queue, {})
            self.assertEqual(r.status, 200, r)
            run = s.wait_run(waiting)
            self.assertEqual(run["status"], "FAILED", run)
            self.assertIn("args.password: secret 'db_password': no such file in the secrets folder",
                          run["message"])
            # asked for now, the job's saved arguments are refused at once, no run made
            runs = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"]
            refused({}, "args.password", "no such file in the secrets folder (", path="/api/jobs/%s/runs" % job["id"])
            self.assertIn("(in the job's saved arguments)",
                          s.post("/api/jobs/%s/runs" % job["id"], {}).json["errors"][0]["messages"][0])
            self.assertEqual(s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"], runs)
        with self.sked(secrets=False) as s:
            r = s.post("/api/jobs", {"title": "t", "task": "show", "args": {"password": {"$secret": "x"}}})
            self.assertEqual(r.status, 400, r)
            self.assertIn("no secrets folder is set", r.json["errors"][0]["messages"][0])
        r = subprocess.run([skedtest.BIN, "serve", "--secrets-dir", os.path.join(self.dir, "missing")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("no such folder", r.stderr)

    def test_only_admins_refer_to_secrets(self):
        """An operator starts a job whose arguments refer to secrets with its saved arguments
        only (changing the address a secret is sent to would send it elsewhere), and never
        sends a reference of their own, however it is wrapped."""
        with self.sked() as s:
            ref = {"$secret": "db_password"}
            job = s.create_job("show", args={"password": ref})
            plain = s.create_job("show", args={"password": "not a secret, and long enough for it"})
            op = token_for(s, account(s, "olga", "operator"))
            path = "/api/jobs/%s/runs" % job["id"]
            for body in ({"args": {"password": ref, "count": 3}}, {"args": {"password": ref}},
                         {"custom_args": {"password": ref}}):
                r = s.request("POST", path, body, token=op)
                self.assertEqual(r.status, 403, (body, r))
                self.assertIn("the job's arguments refer to secrets", r.json["message"])
            ppath = "/api/jobs/%s/runs" % plain["id"]
            text = json.dumps({"password": {"$secret": "api.token"}})
            for body in ({"args": {"password": {"$secret": "api.token"}}},
                         {"custom_args": {"x": [{"$secret": "api.token"}]}},
                         {"args": {"custom_args": text}}, {"custom_args": text}):
                r = s.request("POST", ppath, body, token=op)
                self.assertEqual(r.status, 403, (body, r))
                self.assertIn("only admins refer to secrets", r.json["message"])
            # a job type's default counts as the job's own: the operator's note could be a URL
            dj = s.create_job("deflt")
            r = s.request("POST", "/api/jobs/%s/runs" % dj["id"], {"args": {"note": "x"}}, token=op)
            self.assertEqual(r.status, 403, r)
            self.assertIn("the job's arguments refer to secrets", r.json["message"])
            done = s.wait_run(s.request("POST", "/api/jobs/%s/runs" % dj["id"], {}, token=op).json)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["args"]["password"], ref)  # the default, as a reference
            # the saved arguments, with a title and a queue of the operator's
            r = s.request("POST", path, {"title": "olga's", "queue": "default"}, token=op)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(s.wait_run(r.json)["status"], "SUCCESS")
            # an admin may; a reference in custom args written as JSON text is checked as well
            self.assertEqual(s.post(path, {"args": {"password": ref, "user": ref}}).status, 201)
            r = s.post(ppath, {"args": {"custom_args": json.dumps({"p": {"$secret": "nope"}})}})
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json["errors"][0]["field"], "args.custom_args.p")

    def test_the_secrets_folder_is_not_probed_through_others_requests(self):
        """A viewer's or operator's PATCH naming secrets is refused by role before any secret
        is looked for, whether the file exists or not; an operator whose run would use a
        missing secret is told why without the folder's path, which only an admin is told; a
        run that fails on one says why without it too."""
        os.mkdir(os.path.join(self.dir, "adir"))
        open(os.path.join(self.dir, "empty"), "w").close()
        with self.sked() as s:
            job = s.create_job("show", args={"password": {"$secret": "db_password"}})
            url = "/api/jobs/" + job["id"]
            tok = {role: token_for(s, account(s, role + "1", role)) for role in ("viewer", "operator")}
            for role, t in tok.items():
                answers = set()
                for name in ("db_password", "nope", "adir", "empty"):
                    for body in ({"args": {"password": {"$secret": name}}},
                                 {"active": True, "custom_args": {"x": {"$secret": name}}}):
                        r = s.request("PATCH", url, body, token=t)
                        self.assertEqual(r.status, 403, (role, name, r))
                        answers.add(r.raw)
                self.assertEqual(len(answers), 1, answers)  # one answer, whichever the file
                self.assertNotIn(self.dir, answers.pop())
            # the admin is told the file's path
            r = s.patch(url, {"args": {"password": {"$secret": "nope"}}})
            self.assertEqual(r.status, 400, r)
            self.assertIn("no such file in the secrets folder (%s/nope)" % self.dir, r.raw)
            # its file gone, the saved secret is missing: told to the operator without the path
            os.unlink(os.path.join(self.dir, "db_password"))
            r = s.request("POST", url + "/runs", {}, token=tok["operator"])
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json["errors"], [{"field": "args.password", "messages": [
                "secret 'db_password': no such file in the secrets folder (in the job's saved "
                "arguments)"]}])
            r = s.post(url + "/runs", {})
            self.assertEqual(r.status, 400, r)
            self.assertIn("(%s/db_password)" % self.dir, r.raw)
            # a run that fails on it when it starts (its arguments given by an admin)
            run = s.wait_run(s.run_job(job["id"], args={"password": {"$secret": "api.token"}}))
            self.assertEqual(run["status"], "SUCCESS", run)
            queue = job["default_queue"]
            self.assertEqual(s.post("/api/queues/%s/actions/pause" % queue, {}).status, 200)
            waiting = s.run_job(job["id"], args={"password": {"$secret": "api.token"}})
            os.unlink(os.path.join(self.dir, "api.token"))
            self.assertEqual(s.post("/api/queues/%s/actions/resume" % queue, {}).status, 200)
            failed = s.wait_run(waiting)
            self.assertEqual(failed["status"], "FAILED", failed)
            self.assertEqual(failed["message"],
                             "args.password: secret 'api.token': no such file in the secrets folder")
            lines = [l["message"] for l in s.all_logs(failed)]
            self.assertNotIn(self.dir, json.dumps(lines))

    def test_every_form_of_a_value_is_masked_in_the_log_and_the_outcome(self):
        values = {"pem": "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----\n",
                  "twonl": "twonl-value\n\n", "inner": "abc123", "outer": "XYZabc123XYZ",
                  "accent": "pässwörd-1", "e": "e"}
        for name, value in values.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(value)
        # prints each value, its arguments as JSON both ways, and reports them as its outcome
        script = ("import json, os, sys\n"
                  "a = json.load(sys.stdin)\n"
                  "for k in sorted(a):\n"
                  "    print(a[k])\n"
                  "print(json.dumps(a)); print(json.dumps(a, ensure_ascii=False))\n"
                  "with os.fdopen(3, 'w') as st:\n"
                  "    st.write(json.dumps({'message': 'done with ' + a['accent'], 'output': a}) + '\\n')\n")
        self.tasks["py.json"] = skedtest.task_file("py", ["python3", "-c", script])
        with self.sked() as s:
            args = {k: {"$secret": k} for k in values if k != "since"}
            run = s.wait_run(s.run_job(s.create_job("py", args=args)["id"]))
            self.assertEqual(run["status"], "SUCCESS", run)
            lines = "\n".join(l["message"] for l in s.all_logs(run))
            shown = lines + json.dumps(run["output"]) + run["message"]
            for leak in ("MIIEvQIBADANBgkq", "BEGIN KEY", "twonl-value", "abc123", "XYZ",
                         "pässwörd", "p\\u00e4ssw"):
                self.assertNotIn(leak, shown)
            self.assertIn("done with ***", run["message"])
            self.assertEqual(run["output"]["outer"], "***")
            # a value too short to mask is left alone rather than turning every e into ***
            self.assertIn("since", lines)


if __name__ == "__main__":
    skedtest.main()
