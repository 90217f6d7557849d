#!/usr/bin/env node
// pqc_crosscheck.mjs: computes ML-KEM, ML-DSA and X-Wing with @noble/post-quantum (pinned in
// package.json and package-lock.json here), an implementation independent of ferry's (PQClean),
// so that the crypto tests can compare the two byte for byte.
//
//   node test/node/pqc_crosscheck.mjs < cases.json
//
// Input, one JSON object (all byte strings in hex):
//   {"mlkem": [{"level": 768|1024, "seed": d||z, "m": m, "ct": ferry's ciphertext to decapsulate}],
//    "mldsa": [{"level": 65|87, "seed": xi, "msg": M, "ctx": ctx, "rnd": rnd, "sig": ferry's}],
//    "xwing": [{"seed": sk, "eseed": eseed}]}
// Output: the same arrays, each case with noble's results added:
//   mlkem: "pk", "sk", "ct", "ss" (from seed and m), "ss_of_ct" (noble decapsulating ferry's ct)
//   mldsa: "pk", "sig" (signed with ctx and rnd), "verifies" (whether ferry's sig verifies)
//   xwing: "pk", "ct", "ss" (X-Wing composed from noble's ML-KEM-768, node's X25519 and noble's
//          SHA3/SHAKE, per draft-connolly-cfrg-xwing-kem-10)
// Exit status: 0 computed; 2 bad input; 3 @noble/post-quantum not installed (./setup.sh test).
import { createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";

async function load() {
  try {
    const kem = await import("@noble/post-quantum/ml-kem.js");
    const dsa = await import("@noble/post-quantum/ml-dsa.js");
    const sha3 = await import("@noble/hashes/sha3.js");
    return { kem, dsa, sha3 };
  } catch (e) {
    process.stderr.write(`pqc_crosscheck: @noble/post-quantum is not installed (${e.message}); run ./setup.sh test\n`);
    process.exit(3);
  }
}

const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (h) => new Uint8Array(Buffer.from(h ?? "", "hex"));

// X25519 through node's OpenSSL-independent-of-ferry binding: raw keys wrapped as PKCS#8/SPKI.
const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI = Buffer.from("302a300506032b656e032100", "hex");
function x25519(priv, pub) {
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, priv]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI, pub]), format: "der", type: "spki" });
  return new Uint8Array(diffieHellman({ privateKey, publicKey }));
}
function x25519Base(priv) {
  const base = new Uint8Array(32);
  base[0] = 9;
  return x25519(priv, base);
}

const { kem, dsa, sha3 } = await load();
let input = "";
for await (const chunk of process.stdin) input += chunk;
let cases;
try {
  cases = JSON.parse(input);
} catch (e) {
  process.stderr.write(`pqc_crosscheck: input is not JSON: ${e.message}\n`);
  process.exit(2);
}

const out = { mlkem: [], mldsa: [], xwing: [] };
for (const c of cases.mlkem ?? []) {
  const k = c.level === 1024 ? kem.ml_kem1024 : kem.ml_kem768;
  const { publicKey, secretKey } = k.keygen(bytes(c.seed));
  const { cipherText, sharedSecret } = k.encapsulate(publicKey, bytes(c.m));
  const r = { ...c, pk: hex(publicKey), sk: hex(secretKey), ct: hex(cipherText), ss: hex(sharedSecret) };
  if (c.ct) r.ss_of_ct = hex(k.decapsulate(bytes(c.ct), secretKey));
  out.mlkem.push(r);
}
for (const c of cases.mldsa ?? []) {
  const d = c.level === 87 ? dsa.ml_dsa87 : dsa.ml_dsa65;
  const { publicKey, secretKey } = d.keygen(bytes(c.seed));
  const sig = d.sign(secretKey, bytes(c.msg), bytes(c.ctx), bytes(c.rnd));
  const verifies = c.sig ? d.verify(publicKey, bytes(c.msg), bytes(c.sig), bytes(c.ctx)) : null;
  out.mldsa.push({ ...c, pk: hex(publicKey), sig: hex(sig), ferry_sig: c.sig, verifies });
}
const label = bytes("5c2e2f2f5e5c");
for (const c of cases.xwing ?? []) {
  const expanded = sha3.shake256(bytes(c.seed), { dkLen: 96 });
  const { publicKey: pkM } = kem.ml_kem768.keygen(expanded.subarray(0, 64));
  const pkX = x25519Base(expanded.subarray(64, 96));
  const eseed = bytes(c.eseed);
  const ekX = eseed.subarray(32, 64);
  const ctX = x25519Base(ekX);
  const ssX = x25519(ekX, pkX);
  const { cipherText: ctM, sharedSecret: ssM } = kem.ml_kem768.encapsulate(pkM, eseed.subarray(0, 32));
  const ss = sha3.sha3_256(new Uint8Array([...ssM, ...ssX, ...ctX, ...pkX, ...label]));
  out.xwing.push({ ...c, pk: hex(new Uint8Array([...pkM, ...pkX])), ct: hex(new Uint8Array([...ctM, ...ctX])), ss: hex(ss) });
}
process.stdout.write(JSON.stringify(out) + "\n");
