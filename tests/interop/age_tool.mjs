// The TypeScript age (npm age-encryption) as a command, for sealdoc's interop tests.
//   node age_tool.mjs keygen pq|x25519            -> {"identity": ..., "recipient": ...}
//   node age_tool.mjs encrypt IN OUT (--recipient R)... [--passphrase P] [--work-factor N] [--armor]
//   node age_tool.mjs decrypt IN OUT (--identity I)... [--passphrase P]
// Secrets come from the environment (AGE_TOOL_PASSPHRASE, AGE_TOOL_IDENTITY), never argv.
import { readFileSync, writeFileSync } from "node:fs";
import * as age from "age-encryption";

const [cmd, ...rest] = process.argv.slice(2);
const flag = (name) => rest.includes(name);
const values = (name) => rest.flatMap((v, i) => (rest[i - 1] === name ? [v] : []));

if (cmd === "keygen") {
  const identity =
    rest[0] === "pq" ? await age.generateHybridIdentity() : await age.generateX25519Identity();
  const recipient = await age.identityToRecipient(identity);
  process.stdout.write(JSON.stringify({ identity, recipient }));
} else if (cmd === "encrypt") {
  const e = new age.Encrypter();
  if (flag("--passphrase")) {
    e.setPassphrase(process.env.AGE_TOOL_PASSPHRASE);
    const wf = values("--work-factor");
    if (wf.length) e.setScryptWorkFactor(Number(wf[0]));
  }
  for (const r of values("--recipient")) e.addRecipient(r);
  let out = await e.encrypt(readFileSync(rest[0]));
  if (flag("--armor")) out = new TextEncoder().encode(age.armor.encode(out));
  writeFileSync(rest[1], out);
} else if (cmd === "decrypt") {
  const d = new age.Decrypter();
  if (flag("--passphrase")) d.addPassphrase(process.env.AGE_TOOL_PASSPHRASE);
  if (flag("--identity")) d.addIdentity(process.env.AGE_TOOL_IDENTITY);
  let data = readFileSync(rest[0]);
  if (data.subarray(0, 10).toString() === "-----BEGIN") data = age.armor.decode(data.toString());
  writeFileSync(rest[1], await d.decrypt(data));
} else {
  process.stderr.write("usage: age_tool.mjs keygen|encrypt|decrypt ...\n");
  process.exit(2);
}
