import * as http from "http";
import { AddressInfo } from "net";
import { httpGet, runCommand } from "../release/checks";

/** The built-in health check and the check command, against local processes and servers. */

const node = JSON.stringify(process.execPath);

describe("the check command", () => {
  it("runs with the release's environment and passes when it exits 0", async () => {
    // GIVEN a command that passes only when it sees the new version's base URL
    const command = `${node} -e "process.exit(process.env.CUTOVER_BASE_URL === 'https://api-3f9c2ab.dev.example.com' ? 0 : 7)"`;

    // WHEN it runs with that URL, THEN it passes; with another, it fails with its exit code
    const ok = await runCommand(
      command,
      { CUTOVER_BASE_URL: "https://api-3f9c2ab.dev.example.com" },
      { timeoutMs: 30_000 },
    );
    const wrong = await runCommand(
      command,
      { CUTOVER_BASE_URL: "https://elsewhere" },
      { timeoutMs: 30_000 },
    );
    expect(ok.ok).toBe(true);
    expect(wrong).toEqual({ ok: false, output: "(exited with 7)" });
  });

  it("keeps the end of what a failing command printed", async () => {
    // GIVEN a command printing 100 lines and failing
    const command = `${node} -e "for (let i = 1; i <= 100; i++) console.error('line ' + i); process.exit(1)"`;

    // WHEN it runs
    const result = await runCommand(command, {}, { timeoutMs: 30_000 });

    // THEN the output holds the last lines and the exit status, not the first ones
    expect(result.ok).toBe(false);
    expect(result.output).toContain("line 100\n(exited with 1)");
    expect(result.output).not.toContain("line 1\n");
  });

  it("stops a command that runs past its timeout and counts it as failed", async () => {
    // GIVEN a command that would run for a minute
    const command = `${node} -e "setTimeout(() => {}, 60000)"`;

    // WHEN it runs with a 300 ms timeout
    const started = Date.now();
    const result = await runCommand(command, {}, { timeoutMs: 300 });

    // THEN it fails promptly, saying it timed out
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("the built-in health check", () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.statusCode = req.url === "/health" ? 200 : req.url === "/moved" ? 302 : 503;
      if (res.statusCode === 302) res.setHeader("location", "/elsewhere");
      res.end("body");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it("reports the status without following redirects", async () => {
    expect(await httpGet(`${base}/health`)).toEqual({ status: 200 });
    expect(await httpGet(`${base}/moved`)).toEqual({ status: 302 });
    expect(await httpGet(`${base}/broken`)).toEqual({ status: 503 });
  });

  it("reports why no answer came instead of throwing", async () => {
    // GIVEN a port nobody listens on
    const closed = http.createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));

    // WHEN it is checked, THEN the reason is given
    const result = await httpGet(`http://127.0.0.1:${port}/health`);
    expect(result.status).toBeUndefined();
    expect(result.error).toMatch(/ECONNREFUSED/);
  });
});
