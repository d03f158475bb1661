// Drives an Adgang decision listener with the official OPA TypeScript SDK
// (@styra/opa), unchanged: evaluate, evaluateDefault and evaluateBatch.
// Usage: node check.cjs URL '{"alice": LOGIN_REQUEST, "frank": LOGIN_REQUEST}'
// Prints one JSON object with every answer (errors as {error: "..."}).
const { OPAClient } = require("@styra/opa");

async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

async function main() {
  const [url, logins] = process.argv.slice(2);
  const req = JSON.parse(logins);
  const opa = new OPAClient(url);
  const out = {};
  out.evaluate = await attempt(() => opa.evaluate("adgang/login/allow", req.alice));
  out.evaluateDenied = await attempt(() => opa.evaluate("adgang/login/allow", req.frank));
  out.evaluateNoInput = await attempt(() => opa.evaluate("difftest/count_users"));
  out.evaluateIndex = await attempt(() => opa.evaluate("difftest/users/1/name"));
  out.evaluateDefault = await attempt(() => opa.evaluateDefault(req.alice));
  out.evaluateBatch = await attempt(() => opa.evaluateBatch("adgang/login/allow", { alice: req.alice, frank: req.frank }));
  out.evaluateBatchMixed = await attempt(() => opa.evaluateBatch("difftest/conflict", { ok: { user: "alice" }, bad: { conflict: true } }));
  out.evaluateBatchRejectMixed = await attempt(() =>
    opa.evaluateBatch("difftest/conflict", { ok: { user: "alice" }, bad: { conflict: true } }, { rejectMixed: true }));
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
