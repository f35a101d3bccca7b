// Evaluates JSONata with jsonata-js, the reference implementation AWS Step Functions follows.
// Protocol: one JSON line in ({"expression": "..."}), one JSON line out, in order:
// {"ok": true, "value": <result or null>, "undefined": <bool>} or {"ok": false, "error": "<message>"}.
const readline = require("readline");
const jsonata = require(process.env.JSONATA_MODULE);

const lines = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
lines.on("line", (line) => {
  chain = chain.then(async () => {
    let answer;
    try {
      const value = await jsonata(JSON.parse(line).expression).evaluate(null);
      answer = { ok: true, value: value === undefined ? null : value, undefined: value === undefined };
    } catch (err) {
      answer = { ok: false, error: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  });
});
