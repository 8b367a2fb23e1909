// openapi.test.js: docs/openapi.json is a valid OpenAPI 3.1 document, the server serves exactly
// that file, and what the real server answers on a representative set of routes is what the
// document says: each answer's status is listed for its operation, and its body validates
// against the schema the document gives for that status (JSON Schema 2020-12, formats checked).
//
// Environment: SKED_BIN (the sked binary; default build/openapi/sked), SKED_SRC (the source
// tree; default the folder two levels up). Run: node --test openapi.test.js
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const SRC = process.env.SKED_SRC || path.resolve(here, "..", "..");
const BIN = process.env.SKED_BIN || path.join(SRC, "build", "openapi", "sked");
const DOC_PATH = path.join(SRC, "docs", "openapi.json");
const ADMIN_TOKEN = "openapi-test-token-0123456789";
const ADMIN_PASSWORD = "openapi-test-password";
const DOC_ID = "https://sked.invalid/openapi.json";

// The dependencies come from package-lock.json; without them say what to do, loudly.
async function need(name) {
  if (!fs.existsSync(path.join(here, "node_modules"))) {
    throw new Error(
      "tests/openapi/node_modules is missing: install the test's dependencies with " +
        "(cd tests/openapi && npm ci)",
    );
  }
  try {
    return await import(name);
  } catch (e) {
    throw new Error(
      `cannot load ${name} (${e.message}): run (cd tests/openapi && npm ci)`,
    );
  }
}
const { Validator } = await need("@seriousme/openapi-schema-validator");
const { default: Ajv2020 } = await need("ajv/dist/2020.js");
const { default: addFormats } = await need("ajv-formats");

const docText = fs.readFileSync(DOC_PATH);
const doc = JSON.parse(docText.toString("utf8"));

// ---- JSON Schema validation of bodies against the document ----

const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  allowUnionTypes: true, // "type": ["string", "null"] is plain JSON Schema
  strictTuples: false, // [] or [instant, seq]: a tuple that may be empty
});
addFormats(ajv);
ajv.addFormat("password", true); // OpenAPI's annotation-only format
ajv.addKeyword({ keyword: "discriminator" }); // OpenAPI annotation; oneOf decides
// The document itself, so every "#/components/..." and "#/paths/..." pointer resolves.
ajv.addKeyword({ keyword: "components" });
ajv.addKeyword({ keyword: "paths" });
ajv.addSchema({ $id: DOC_ID, components: doc.components, paths: doc.paths });

const escPointer = (s) => s.replace(/~/g, "~0").replace(/\//g, "~1");

function at(pointer) {
  let node = doc;
  for (const part of pointer.split("/").slice(1)) {
    if (node === undefined) return undefined;
    node = node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node;
}

// Follows $refs from pointer; returns {node, pointer} of the object reached.
function deref(pointer) {
  let node = at(pointer);
  const seen = new Set();
  while (node && typeof node.$ref === "string") {
    assert.ok(node.$ref.startsWith("#/"), `only local $refs are expected: ${node.$ref}`);
    assert.ok(!seen.has(node.$ref), `$ref loop at ${node.$ref}`);
    seen.add(node.$ref);
    pointer = node.$ref.slice(1);
    node = at(pointer);
    assert.ok(node !== undefined, `$ref ${pointer} points nowhere`);
  }
  return { node, pointer };
}

function validateAt(pointer, value, label) {
  const validate = ajv.getSchema(DOC_ID + "#" + pointer);
  assert.ok(validate, `no schema at ${pointer}`);
  if (!validate(value)) {
    const shown = JSON.stringify(value);
    assert.fail(
      `${label}: the body does not match ${pointer}:\n` +
        validate.errors
          .map((e) => `  ${e.instancePath || "(the body)"} ${e.message} ${JSON.stringify(e.params)} (${e.schemaPath})`)
          .join("\n") +
        `\nbody: ${shown.length > 2000 ? shown.slice(0, 2000) + "…" : shown}`,
    );
  }
}

// ---- the document itself ----

test("docs/openapi.json is a valid OpenAPI 3.1 document", async () => {
  assert.match(doc.openapi, /^3\.1\./, "the document must declare OpenAPI 3.1");
  const validator = new Validator();
  const res = await validator.validate(structuredClone(doc));
  assert.equal(validator.version, "3.1");
  assert.ok(
    res.valid,
    "docs/openapi.json does not match the OpenAPI 3.1 schema:\n" +
      JSON.stringify(res.errors, null, 2),
  );
});

test("every schema and $ref of the document resolves and compiles (JSON Schema 2020-12)", () => {
  for (const name of Object.keys(doc.components.schemas)) {
    assert.doesNotThrow(
      () => ajv.getSchema(`${DOC_ID}#/components/schemas/${escPointer(name)}`),
      `components.schemas.${name} does not compile`,
    );
  }
  // every reference of the document names something that exists
  const walk = (node, where) => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, `${where}/${i}`));
    if (!node || typeof node !== "object") return;
    if (typeof node.$ref === "string") {
      assert.ok(node.$ref.startsWith("#/"), `${where}: only local $refs are expected`);
      assert.ok(at(node.$ref.slice(1)) !== undefined, `${where}: $ref ${node.$ref} points nowhere`);
    }
    for (const [k, v] of Object.entries(node)) walk(v, `${where}/${escPointer(k)}`);
  };
  walk(doc, "#");
  // every schema of every operation compiles too
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      for (const status of Object.keys(op.responses || {})) {
        const r = deref(`/paths/${escPointer(p)}/${method}/responses/${status}`);
        for (const media of Object.keys(r.node.content || {})) {
          const ptr = `${r.pointer}/content/${escPointer(media)}/schema`;
          assert.ok(ajv.getSchema(DOC_ID + "#" + ptr), `${method} ${p} ${status}: no schema`);
        }
      }
    }
  }
});

test("every example of the document matches its schema", () => {
  let n = 0;
  const media = (ptr, content, label) => {
    for (const [type, m] of Object.entries(content || {})) {
      if (!/json/.test(type)) continue;
      const schemaPtr = `${ptr}/content/${escPointer(type)}/schema`;
      if ("example" in m) validateAt(schemaPtr, m.example, `${label} example`), n++;
      for (const [name, ex] of Object.entries(m.examples || {})) {
        validateAt(schemaPtr, deref(`${ptr}/content/${escPointer(type)}/examples/${escPointer(name)}`).node.value,
          `${label} example ${name}`);
        n++;
      }
    }
  };
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const at_ = `/paths/${escPointer(p)}/${method}`;
      if (op.requestBody) media(`${at_}/requestBody`, op.requestBody.content, `${method} ${p} request`);
    }
  }
  for (const name of Object.keys(doc.components.responses)) {
    const ptr = `/components/responses/${escPointer(name)}`;
    media(ptr, at(ptr).content, `response ${name}`);
  }
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    for (const [i, ex] of (schema.examples || []).entries()) {
      validateAt(`/components/schemas/${escPointer(name)}`, ex, `schema ${name} example ${i}`);
      n++;
    }
  }
  assert.ok(n > 10, `only ${n} examples were found`);
});

// ---- the real server ----

let server;
let base;
let tmp;
let stderr = "";

function startServer() {
  return new Promise((resolve, reject) => {
    if (!fs.existsSync(BIN)) {
      reject(new Error(`no sked binary at ${BIN}: build it, or set SKED_BIN`));
      return;
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sked-openapi-"));
    server = spawn(
      BIN,
      ["serve", "--db", path.join(tmp, "sked.db"), "--tasks", path.join(SRC, "tasks.d"),
        "--listen", "127.0.0.1:0"],
      {
        env: { ...process.env, SKED_ADMIN_TOKEN: ADMIN_TOKEN, SKED_ADMIN_PASSWORD: ADMIN_PASSWORD },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    const timer = setTimeout(() => {
      reject(new Error(`sked did not say where it listens within 20 s; stderr:\n${stderr}`));
    }, 20000);
    server.stderr.setEncoding("utf8");
    server.stderr.on("data", (chunk) => {
      stderr += chunk;
      const m = /sked: listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m && !base) {
        base = m[1];
        clearTimeout(timer);
        resolve();
      }
    });
    server.on("exit", (code, signal) => {
      if (!base) {
        clearTimeout(timer);
        reject(new Error(`sked exited (${code ?? signal}) before listening; stderr:\n${stderr}`));
      }
    });
  });
}

async function stopServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    const timer = setTimeout(() => server.kill("SIGKILL"), 10000);
    await exited;
    clearTimeout(timer);
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

// One HTTP request; resolves {status, headers, text}.
function request(method, url, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    const req = http.request(
      new URL(url, base),
      { method, headers: { ...headers, ...(data ? { "Content-Length": data.length } : {}) } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({
          status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString("utf8"),
          raw: Buffer.concat(chunks),
        }));
        res.on("error", reject);
      },
    );
    req.setTimeout(30000, () => req.destroy(new Error(`${method} ${url}: no answer within 30 s`)));
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

const bearer = (token = ADMIN_TOKEN) => ({ Authorization: `Bearer ${token}` });

// Calls the operation `method template` and checks the answer against the document: the
// status must be one the operation lists, the Content-Type one of that response's media
// types, the body valid against its schema, and the response's documented headers present.
async function call(method, template, { params = {}, query, headers = bearer(), body, expect } = {}) {
  let url = template.replace(/\{([^}]+)\}/g, (_, name) => {
    assert.ok(name in params, `no value for {${name}} of ${template}`);
    return encodeURIComponent(params[name]);
  });
  if (query) url += "?" + new URLSearchParams(query).toString();
  const label = `${method} ${url}`;
  const res = await request(method, url, { headers, body });
  const op = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${template} is not an operation of the document`);
  if (expect !== undefined) assert.equal(res.status, expect, `${label}: ${res.text}`);
  const status = String(res.status);
  assert.ok(
    op.responses[status],
    `${label} answered ${status}, which the document does not list for ${method} ${template} ` +
      `(it lists ${Object.keys(op.responses).join(", ")}): ${res.text.slice(0, 500)}`,
  );
  const r = deref(`/paths/${escPointer(template)}/${method.toLowerCase()}/responses/${status}`);
  checkResponse(r, res, label);
  return { ...res, json: res.text && /json/.test(res.headers["content-type"] || "") ? JSON.parse(res.text) : undefined };
}

// Checks res against the response object r ({node, pointer}).
function checkResponse(r, res, label) {
  for (const [name, h] of Object.entries(r.node.headers || {})) {
    if (h.required === false) continue; // sent in some answers only (the document says when)
    assert.ok(res.headers[name.toLowerCase()] !== undefined, `${label}: the document promises a ${name} header`);
  }
  if (!r.node.content) {
    assert.equal(res.raw.length, 0, `${label}: the document promises no body, got ${res.text.slice(0, 200)}`);
    return;
  }
  const media = (res.headers["content-type"] || "").split(";")[0].trim();
  assert.ok(
    media in r.node.content,
    `${label}: Content-Type ${media} is not among the documented ${Object.keys(r.node.content)}`,
  );
  if (media === "application/json") {
    let data;
    assert.doesNotThrow(() => { data = JSON.parse(res.text); }, `${label}: the body is not JSON`);
    validateAt(`${r.pointer}/content/${escPointer(media)}/schema`, data, label);
  }
}

function component(kind, name) {
  return deref(`/components/${kind}/${escPointer(name)}`);
}

describe("the running server answers as documented", () => {
  const ids = {};
  let cookie;
  let csrf;

  before(startServer);
  after(stopServer);

  test("GET /api/openapi.json is docs/openapi.json, byte for byte", async () => {
    const res = await call("GET", "/api/openapi.json", { headers: {}, expect: 200 });
    assert.ok(res.raw.equals(docText), "the served document differs from docs/openapi.json: rebuild sked");
  });

  test("health", async () => {
    await call("GET", "/healthz", { headers: {}, expect: 200 });
    await call("GET", "/readyz", { headers: {}, expect: 200 });
  });

  test("jobs: create, list, read, update", async () => {
    const created = await call("POST", "/api/jobs", {
      body: {
        title: "OpenAPI check", task: "sync_records", args: { records: 3 }, timeout: "10m",
        overlap: "skip", schedule: { type: "cron", expression: "0 3 * * 1-5", timezone: "Europe/Zurich" },
        max_retries: 1, notification_statuses: ["FAILED"],
      },
      expect: 201,
    });
    ids.job = created.json.id;
    await call("GET", "/api/jobs", { query: { q: "openapi", size: "1" }, expect: 200 });
    await call("GET", "/api/jobs/{job_id}", { params: { job_id: ids.job }, expect: 200 });
    await call("PATCH", "/api/jobs/{job_id}", {
      params: { job_id: ids.job }, body: { description: "checked", schedule: null }, expect: 200,
    });
    await call("PUT", "/api/jobs/{job_id}", {
      params: { job_id: ids.job }, body: { ...created.json, title: "OpenAPI check", active: true }, expect: 200,
    });
  });

  test("runs: start, read, list, logs", async () => {
    const run = await call("POST", "/api/jobs/{job_id}/runs", {
      params: { job_id: ids.job }, body: { title: "first" }, expect: 201,
    });
    ids.run = run.json.id;
    const params = { job_id: ids.job, run_id: ids.run };
    let status = run.json.status;
    for (let i = 0; i < 150 && ["QUEUED", "RUNNING", "CANCELLING"].includes(status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await call("GET", "/api/jobs/{job_id}/runs/{run_id}", { params, expect: 200 })).json.status;
    }
    assert.equal(status, "SUCCESS", "the run should have finished");
    await call("GET", "/api/jobs/{job_id}/runs/{run_id}", { params, expect: 200 });
    await call("GET", "/api/jobs/{job_id}", { params: { job_id: ids.job }, expect: 200 }); // with last_run
    await call("GET", "/api/jobs/{job_id}/runs", { params: { job_id: ids.job }, query: { status: "success" }, expect: 200 });
    const stats = await call("GET", "/api/jobs/{job_id}/stats", { params: { job_id: ids.job }, expect: 200 });
    assert.equal(stats.json.statuses.SUCCESS, 1);
    await call("GET", "/api/jobs/{job_id}/stats", { params: { job_id: ids.job }, query: { runs: "0" }, expect: 400 });
    await call("GET", "/api/runs", { query: { job_id: ids.job, size: "1" }, expect: 200 });
    await call("GET", "/api/jobs/{job_id}/runs/{run_id}/logs", { params, query: { limit: "1" }, expect: 200 });
    await call("GET", "/api/logs/jobs", { query: { q: ids.run }, expect: 200 });
    await call("POST", "/api/jobs/{job_id}/runs/{run_id}/actions/stop", { params, expect: 400 });
  });

  test("runs: the log stream's events carry the documented data", async () => {
    const params = { job_id: ids.job, run_id: ids.run };
    const res = await call("GET", "/api/jobs/{job_id}/runs/{run_id}/logs/stream", { params, expect: 200 });
    const schemaOf = { log: "LogLine", status: "LogStreamStatus", progress: "LogStreamProgress",
                       end: "LogStreamEnd" };
    const seen = [];
    for (const block of res.text.split("\n\n")) {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!event) continue;
      assert.ok(event in schemaOf, `undocumented event ${event}`);
      seen.push(event);
      validateAt(component("schemas", schemaOf[event]).pointer, JSON.parse(data), `event ${event}`);
    }
    assert.ok(seen.includes("status") && seen.includes("log"), `expected status and log events in:\n${res.text}`);
    // a finished run's stream ends with its final status, then end
    assert.deepEqual(seen.slice(-2), ["status", "end"], `expected status, end last in:\n${res.text}`);
  });

  test("job types, queues and schedule previews", async () => {
    await call("GET", "/api/tasks", { expect: 200 });
    await call("GET", "/api/tasks/{task_id}", { params: { task_id: "sync_records" }, expect: 200 });
    await call("GET", "/api/tasks/{task_id}", { params: { task_id: "http_call" }, expect: 200 });
    await call("GET", "/api/tasks/{task_id}/args", { params: { task_id: "reindex" }, expect: 200 });
    await call("GET", "/api/tasks/{task_id}", { params: { task_id: "nope" }, expect: 404 });
    await call("GET", "/api/queues", { expect: 200 });
    await call("POST", "/api/schedules/preview", {
      body: { schedule: { type: "cron", expression: "30 2 * * *", timezone: "Europe/Zurich" },
        from: "2026-03-27T12:00:00Z", count: 3 },
      expect: 200,
    });
    await call("POST", "/api/schedules/preview", {
      body: { schedule: { type: "interval", hours: 4 }, from: "2026-11-29 12:00", count: 2 }, expect: 200,
    });
    await call("POST", "/api/schedules/preview", {
      body: { schedule: { type: "cron", expression: "0 0 30 2 *" }, count: 0, x: 1 }, expect: 400,
    });
  });

  test("sessions: sign in, who is calling, CSRF, sign out", async () => {
    const res = await call("POST", "/api/session", {
      headers: {}, body: { username: "admin", password: ADMIN_PASSWORD }, expect: 201,
    });
    cookie = res.headers["set-cookie"][0].split(";")[0];
    csrf = res.json.csrf_token;
    const who = await call("GET", "/api/session", { headers: { Cookie: cookie }, expect: 200 });
    assert.equal(who.json.csrf_token, csrf);
    await call("GET", "/api/session", { expect: 200 }); // the bootstrap token
    await call("POST", "/api/jobs", {
      headers: { Cookie: cookie }, body: { title: "x", task: "sync_records" }, expect: 403,
    });
    await call("POST", "/api/session", {
      headers: {}, body: { username: "admin", password: "wrong-password" }, expect: 401,
    });
    await call("DELETE", "/api/session", { expect: 400 }); // a token has no session
    await call("DELETE", "/api/session", { headers: { Cookie: cookie, "X-CSRF-Token": csrf }, expect: 204 });
  });

  test("accounts and tokens", async () => {
    await call("GET", "/api/users", { expect: 200 });
    const olga = await call("POST", "/api/users", {
      body: { username: "olga", role: "operator", display_name: "Olga Operator", password: "olga-password-1" },
      expect: 201,
    });
    await call("POST", "/api/users", { body: { username: "OLGA", role: "viewer" }, expect: 409 });
    await call("GET", "/api/users/{user_id}", { params: { user_id: olga.json.id }, expect: 200 });
    await call("GET", "/api/users/{user_id}", { params: { user_id: "me" }, expect: 404 }); // bootstrap
    const tok = await call("POST", "/api/users/{user_id}/tokens", {
      params: { user_id: olga.json.id }, body: { name: "ci", expires_at: "2099-01-01" }, expect: 201,
    });
    const asOlga = bearer(tok.json.token);
    await call("GET", "/api/users/{user_id}", { params: { user_id: "me" }, headers: asOlga, expect: 200 });
    await call("PATCH", "/api/users/{user_id}", {
      params: { user_id: "me" }, headers: asOlga, body: { display_name: "Olga O." }, expect: 200,
    });
    await call("GET", "/api/users", { headers: asOlga, expect: 403 });
    await call("PATCH", "/api/jobs/{job_id}", {
      params: { job_id: ids.job }, headers: asOlga, body: { active: false }, expect: 200,
    });
    await call("PATCH", "/api/jobs/{job_id}", {
      params: { job_id: ids.job }, headers: asOlga, body: { title: "Renamed" }, expect: 403,
    });
    const own = await call("POST", "/api/tokens", { headers: asOlga, body: { name: "laptop" }, expect: 201 });
    await call("POST", "/api/tokens", { body: { name: "bootstrap has none" }, expect: 400 });
    await call("GET", "/api/tokens", { headers: asOlga, expect: 200 });
    await call("GET", "/api/tokens", { query: { all: "true" }, headers: asOlga, expect: 403 });
    await call("GET", "/api/tokens", { query: { all: "true" }, expect: 200 });
    await call("DELETE", "/api/tokens/{token_id}", { params: { token_id: own.json.id }, headers: asOlga, expect: 204 });
    await call("DELETE", "/api/users/{user_id}", { params: { user_id: olga.json.id }, expect: 204 });
  });

  test("the audit trail", async () => {
    await call("GET", "/api/audit", { query: { size: "5" }, expect: 200 });
    await call("GET", "/api/audit", { query: { job_id: ids.job, action: "job." }, expect: 200 });
    await call("GET", "/api/audit", { query: { since: "yesterday", sort: "ts" }, expect: 400 });
  });

  test("metrics", async () => {
    const res = await call("GET", "/metrics", { expect: 200 });
    assert.match(res.text, /^# HELP /m);
  });

  test("errors: 400, 401, 404, 405", async () => {
    const bad = await call("POST", "/api/jobs", {
      body: { title: "", task: "nope", colour: 1, overlap: "never" }, expect: 400,
    });
    assert.ok(bad.json.errors.length >= 3);
    await call("POST", "/api/jobs", { body: '{"title": "x",', expect: 400 });
    await call("GET", "/api/jobs", { query: { page: "0", sort: "name" }, expect: 400 });
    await call("GET", "/api/runs", { query: { status: "DONE" }, expect: 400 });
    await call("GET", "/api/logs/jobs", { expect: 400 });
    await call("GET", "/api/jobs", { headers: {}, expect: 401 });
    const missing = "2c1e0a7e-0000-4000-8000-000000000000";
    await call("GET", "/api/jobs/{job_id}", { params: { job_id: missing }, expect: 404 });
    await call("GET", "/api/jobs/{job_id}/runs/{run_id}", { params: { job_id: ids.job, run_id: missing }, expect: 404 });
    await call("DELETE", "/api/tokens/{token_id}", { params: { token_id: missing }, expect: 404 });
    // an unknown route and a known path with another method: the shared responses
    const unknown = await request("GET", "/api/nothing", { headers: bearer() });
    assert.equal(unknown.status, 404);
    checkResponse(component("responses", "NotFound"), unknown, "GET /api/nothing");
    const wrong = await request("PUT", "/api/queues", { headers: bearer() });
    assert.equal(wrong.status, 405);
    checkResponse(component("responses", "MethodNotAllowed"), wrong, "PUT /api/queues");
  });

  test("an unknown query parameter, on every operation, is answered as documented", async () => {
    // reads of one object ignore it; lists and writes refuse it with a ValidationError naming
    // it, which the operation's 400 must allow (and a write must refuse it before writing)
    const params = {
      job_id: ids.job, run_id: ids.run, task_id: "sync_records", queue: "default", user_id: "me",
      token_id: "2c1e0a7e-0000-4000-8000-000000000000",
    };
    let refused = 0;
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        if (!["get", "put", "post", "patch", "delete"].includes(method)) continue;
        const body = ["put", "post", "patch"].includes(method) ? {} : undefined;
        const res = await call(method.toUpperCase(), template, { params, query: { bogus: "1" }, body });
        if (method !== "get") assert.equal(res.status, 400, `${method} ${template}: ${res.text}`);
        if (res.status !== 400) continue;
        assert.ok(res.json.errors?.some((e) => e.field === "bogus"), `${method} ${template}: ${res.text}`);
        refused++;
      }
    }
    assert.ok(refused > 20, `only ${refused} operations refused the parameter`);
  });

  test("jobs: delete", async () => {
    await call("DELETE", "/api/jobs/{job_id}/runs/{run_id}", { params: { job_id: ids.job, run_id: ids.run }, expect: 204 });
    await call("DELETE", "/api/jobs/{job_id}", { params: { job_id: ids.job }, expect: 204 });
    await call("DELETE", "/api/jobs/{job_id}", { params: { job_id: ids.job }, expect: 404 });
  });
});
