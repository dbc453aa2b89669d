// sealdoc self-decrypting page: a decoder of format v1 (docs/format.md) written
// against WebCrypto alone. It opens a document sealed with suite 1 (AES-256-GCM),
// no binding, and a password wrap using PBKDF2-HMAC-SHA256 (format.md 8.2).
// It makes no network request; the page's Content-Security-Policy forbids any.
(() => {
  "use strict";
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  const te = new TextEncoder();
  // fatal: invalid UTF-8 is refused; ignoreBOM: a leading U+FEFF is kept, as Python keeps it
  const td = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const $ = (id) => document.getElementById(id);
  const MIN_PBKDF2 = 600000;
  const MAX_PBKDF2 = 10000000;
  // format.md 3.1-3.3: every limit, as the Python parser (_format.py) checks it
  const MIN_HEADER_LEN = 134;
  const MAX_HEADER_LEN = 262144;
  const MAX_MAP_PAIRS = 64;
  const MAX_MAP_KEY_LEN = 255;
  const MAX_MAP_VALUE_LEN = 4096;
  const MAX_MAP_LEN = 16384; // the whole encoded map, its 2-byte count included
  const MAX_KIND_LEN = 32;
  const MAX_KEY_ID_LEN = 1024;
  const MAX_PAYLOAD_LEN = 4096;
  const MAX_KEYS = 32;
  const MAX_SEGMENTS = 2 ** 32;
  const KIND = /^[a-z0-9][a-z0-9.+-]*$/; // JS's $ is the end of input: no trailing newline
  // format.md 3.6: [first, last] code points, inclusive. _html.py writes them in
  // from sealdoc._text.FORBIDDEN_RANGES when it builds the page, so the two
  // decoders refuse the same characters; the page refuses everything if they are missing.
  const FORBIDDEN = [/* FORBIDDEN_RANGES */];

  class Altered extends Error {}
  class WrongPassword extends Error {}

  function say(message, kind) {
    const status = $("status");
    status.textContent = message;
    status.dataset.kind = kind;
  }

  function concat(...parts) {
    let size = 0;
    for (const p of parts) size += p.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  const u16 = (n) => new Uint8Array([(n >>> 8) & 255, n & 255]);
  const u32 = (n) => new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

  function fromBase64(text) {
    const raw = atob(text.replace(/\s+/g, ""));
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  class Reader {
    // overrun: the message when a field runs past end (format.md 3.1 step 3)
    constructor(bytes, at, end, overrun) {
      this.bytes = bytes;
      this.at = at;
      this.end = end;
      this.overrun = overrun;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    need(n) {
      if (this.at + n > this.end) throw new Altered(this.overrun);
    }
    u8() {
      this.need(1);
      return this.bytes[this.at++];
    }
    u16() {
      this.need(2);
      const v = this.view.getUint16(this.at);
      this.at += 2;
      return v;
    }
    u32() {
      this.need(4);
      const v = this.view.getUint32(this.at);
      this.at += 4;
      return v;
    }
    take(n) {
      this.need(n);
      const v = this.bytes.subarray(this.at, this.at + n);
      this.at += n;
      return v;
    }
  }

  const hex4 = (cp) => "U+" + cp.toString(16).toUpperCase().padStart(4, "0");

  // format.md 3.6: the first forbidden code point of s, or -1
  function forbidden(s) {
    if (FORBIDDEN.length === 0) return 0; // the table was not written in: refuse, never skip
    for (const ch of s) {
      const cp = ch.codePointAt(0);
      for (const [first, last] of FORBIDDEN) if (cp >= first && cp <= last) return cp;
    }
    return -1;
  }

  // a header string: strict UTF-8, then the forbidden characters, as _format._text
  function text(bytes, what) {
    let s;
    try {
      s = td.decode(bytes);
    } catch (e) {
      throw new Altered(what + " is not valid UTF-8");
    }
    const bad = forbidden(s);
    // the code point, never the text: the page shows this message
    if (bad >= 0) throw new Altered(what + " holds " + hex4(bad) + ", a forbidden character");
    return s;
  }

  // bytewise lexicographic order: negative, zero or positive
  function compareBytes(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  }

  // format.md 3.3: a string map; keys unique and in ascending byte order.
  // Each check as its field is met, in the order of format.md 3.1 step 3.
  function map(r, what) {
    const start = r.at;
    const count = r.u16();
    if (count > MAX_MAP_PAIRS) throw new Altered(what + " has too many entries");
    const out = new Map();
    let previous = new Uint8Array(0);
    for (let i = 0; i < count; i++) {
      const keyLen = r.u16();
      if (keyLen < 1 || keyLen > MAX_MAP_KEY_LEN) throw new Altered(what + " key length out of bounds");
      const keyBytes = r.take(keyLen);
      const key = text(keyBytes, what + " key");
      if (compareBytes(keyBytes, previous) <= 0) throw new Altered(what + " keys are not unique and sorted");
      previous = keyBytes;
      const valueLen = r.u16();
      if (valueLen > MAX_MAP_VALUE_LEN) throw new Altered(what + " value length over the limit");
      out.set(key, text(r.take(valueLen), what + " value"));
      if (r.at - start > MAX_MAP_LEN) throw new Altered(what + " is longer than " + MAX_MAP_LEN + " bytes");
    }
    return out;
  }

  // format.md 3.2: one wrapped key
  function wrappedKey(r) {
    const kindLen = r.u8();
    if (kindLen < 1 || kindLen > MAX_KIND_LEN) throw new Altered("provider kind length out of bounds");
    const kindBytes = r.take(kindLen);
    // the pattern on the bytes, as format.md 3.2: a non-ASCII kind fails here, not as UTF-8
    const kind = String.fromCharCode(...kindBytes);
    if (!KIND.test(kind)) throw new Altered("provider kind has characters outside [a-z0-9.+-]");
    const keyIdLen = r.u16();
    if (keyIdLen < 1 || keyIdLen > MAX_KEY_ID_LEN) throw new Altered("key id length out of bounds");
    const keyId = r.take(keyIdLen);
    text(keyId, "key id"); // checked, and kept as bytes for the wrap's associated data
    const version = r.u32();
    const payloadLen = r.u16();
    if (payloadLen < 1 || payloadLen > MAX_PAYLOAD_LEN) throw new Altered("wrapped key payload length out of bounds");
    const payload = r.take(payloadLen);
    return { kind, kindBytes, keyId, version, payload };
  }

  // format.md 3.1 step 1: each check on as many of the first 9 bytes as there are
  function prelude(doc) {
    const magic = [0x53, 0x44, 0x4f, 0x43]; // SDOC
    if (doc.length === 0) throw new Altered("not a sealed document");
    for (let i = 0; i < Math.min(4, doc.length); i++) {
      if (doc[i] !== magic[i]) throw new Altered("not a sealed document");
    }
    if (doc.length > 4 && doc[4] !== 1) throw new Altered("unsupported format version");
    if (doc.length < 9) throw new Altered("truncated header");
    const headerLen = new Reader(doc, 5, 9, "truncated header").u32();
    if (headerLen < MIN_HEADER_LEN || headerLen > MAX_HEADER_LEN) throw new Altered("impossible header length");
    if (headerLen > doc.length) throw new Altered("truncated header");
    return headerLen;
  }

  // format.md 3.1-3.3, every check in the order of 3.1; what this page cannot
  // open (suite 2, a binding) only after the whole header is known to be well formed
  function parse(doc) {
    const headerLen = prelude(doc);
    const r = new Reader(doc, 9, headerLen - 32, "a field overruns the header");
    const suite = r.u16();
    if (suite !== 1 && suite !== 2) throw new Altered("unknown cipher suite");
    const flags = r.u8();
    if (flags & 0xfe) throw new Altered("unknown header flags");
    const segmentSize = r.u32();
    if (segmentSize < 64 || segmentSize > 16777216) throw new Altered("impossible segment size");
    const salt = r.take(32);
    const prefix = r.take(7);
    const commitment = r.take(32);
    const context = map(r, "context");
    const core = doc.subarray(9, r.at);
    const keyCount = r.u8();
    if (keyCount < 1 || keyCount > MAX_KEYS) throw new Altered("impossible key count");
    const wrapped = [];
    for (let i = 0; i < keyCount; i++) wrapped.push(wrappedKey(r));
    if (r.at !== headerLen - 32) throw new Altered("malformed header");
    if (suite !== 1) throw new Altered("a cipher suite this page cannot open");
    if (flags !== 0) throw new Altered("a bound document: this page cannot supply the binding");
    return {
      suite,
      segmentSize,
      salt,
      prefix,
      commitment,
      context,
      core,
      wrapped,
      prelude: doc.subarray(0, 5),
      signed: doc.subarray(0, headerLen - 32),
      mac: doc.subarray(headerLen - 32, headerLen),
      body: doc.subarray(headerLen),
    };
  }

  async function sha256(data) {
    return new Uint8Array(await subtle.digest("SHA-256", data));
  }

  // format.md 8.2, KDF 2: PBKDF2-HMAC-SHA256 then AES-256-GCM. Yields the DEK of
  // each wrap the password opens, in header order; tried.usable counts the KDFs run.
  async function* unwraps(h, digest, password, tried) {
    const secret = te.encode(password.normalize("NFC"));
    const base = await subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
    for (const w of h.wrapped) {
      const p = w.payload;
      if (w.kind !== "password" || w.version !== 1 || p.length !== 81 || p[0] !== 2) continue;
      const iterations = new DataView(p.buffer, p.byteOffset, 5).getUint32(1);
      if (iterations < MIN_PBKDF2 || iterations > MAX_PBKDF2) continue;
      if (tried.usable === 4) return; // format.md 8.2: at most four KDFs per document
      tried.usable++;
      const params = p.subarray(0, 5);
      const salt = p.subarray(5, 21);
      const iv = p.subarray(21, 33);
      const sealed = p.subarray(33);
      const bits = await subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt, iterations },
        base,
        256,
      );
      const kek = await subtle.importKey("raw", bits, "AES-GCM", false, ["decrypt"]);
      const aad = concat(
        te.encode("sealdoc-v1-wrap"),
        new Uint8Array([w.kindBytes.length]),
        w.kindBytes,
        u16(w.keyId.length),
        w.keyId,
        u32(w.version),
        digest,
        params,
      );
      let dek;
      try {
        dek = await subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad }, kek, sealed);
      } catch (e) {
        continue; // not this wrap: a wrong password, or an altered wrap; try the next
      }
      yield new Uint8Array(dek);
    }
  }

  // format.md 4 and 9: the first DEK whose commitment matches opens the header;
  // a commitment mismatch tries the next wrap, a header MAC that differs stops at once
  async function unlock(h, digest, password) {
    const tried = { usable: 0 };
    let mismatch = false;
    for await (const dek of unwraps(h, digest, password, tried)) {
      const ikm = await subtle.importKey("raw", dek, "HKDF", false, ["deriveBits"]);
      const okm = new Uint8Array(
        await subtle.deriveBits(
          { name: "HKDF", hash: "SHA-256", salt: h.salt, info: concat(te.encode("sealdoc-v1-keys"), u16(h.suite)) },
          ikm,
          768,
        ),
      );
      let diff = 0;
      for (let i = 0; i < 32; i++) diff |= okm[32 + i] ^ h.commitment[i];
      if (diff !== 0) {
        mismatch = true;
        continue;
      }
      const macKey = await subtle.importKey("raw", okm.subarray(64, 96), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
      if (!(await subtle.verify("HMAC", macKey, h.mac, concat(digest, h.signed)))) {
        throw new Altered("header authentication failed");
      }
      return okm;
    }
    if (!tried.usable) throw new Altered("no password wrap this page can use");
    // the password opened a wrap, so it is right: the file was made to deceive
    if (mismatch) throw new Altered("key commitment mismatch");
    throw new WrongPassword();
  }

  // format.md 4, 5, 7 and 9
  async function openDocument(doc, password) {
    const h = parse(doc);
    const digest = await sha256(concat(te.encode("sealdoc-v1-core"), h.prelude, h.core));
    const okm = await unlock(h, digest, password);
    const key = await subtle.importKey("raw", okm.subarray(0, 32), "AES-GCM", false, ["decrypt"]);
    const size = h.segmentSize;
    const full = size + 16;
    const total = h.body.length;
    const n = Math.max(1, Math.ceil(total / full));
    const last = total - (n - 1) * full;
    if (total === 0 || last < (n === 1 ? 16 : 17) || n > MAX_SEGMENTS) throw new Altered("truncated or extended body");
    const out = new Uint8Array(total - 16 * n);
    for (let i = 0; i < n; i++) {
      const iv = concat(h.prefix, u32(i), new Uint8Array([i === n - 1 ? 1 : 0]));
      const segment = h.body.subarray(i * full, Math.min(total, (i + 1) * full));
      let plain;
      try {
        plain = await subtle.decrypt({ name: "AES-GCM", iv, additionalData: digest }, key, segment);
      } catch (e) {
        throw new Altered("segment " + i + " failed authentication");
      }
      out.set(new Uint8Array(plain), i * size);
    }
    return { data: out, context: h.context };
  }

  function show(opened) {
    const type = opened.context.get("sealdoc:media_type") || "application/octet-stream";
    const name = opened.context.get("sealdoc:filename") || "document";
    const blob = new Blob([opened.data], { type });
    const url = URL.createObjectURL(blob);
    const link = $("download");
    link.href = url;
    link.download = name;
    link.textContent = "Download " + name;
    if (/^text\/(plain|csv)$/.test(type)) {
      const text = $("text");
      text.textContent = new TextDecoder("utf-8").decode(opened.data);
      text.hidden = false;
    } else if (/^image\/(png|jpeg|gif|webp)$/.test(type)) {
      const image = $("image");
      image.src = url;
      image.hidden = false;
    } else if (type === "application/pdf") {
      const frame = $("frame");
      frame.src = url;
      frame.hidden = false;
    }
    $("unlock").hidden = true;
    $("document").hidden = false;
    say("Opened. It was decrypted on this device; nothing was sent anywhere.", "ok");
  }

  async function submit(event) {
    event.preventDefault();
    const button = $("open");
    const password = $("password").value;
    if (!password) {
      say("Enter the password you were given.", "error");
      return;
    }
    button.disabled = true;
    say("Opening…", "busy");
    try {
      const doc = fromBase64($("sealed").textContent);
      show(await openDocument(doc, password));
    } catch (e) {
      if (e instanceof WrongPassword) {
        say(
          "Wrong password: the document did not open. Check the password and try again. " +
            "If you are sure it is right, the file may have been altered: ask the sender for a new copy.",
          "error",
        );
        $("password").select();
      } else {
        say(
          "This file was altered or damaged and cannot be opened safely. " +
            "Ask the sender for a new copy. (" + (e && e.message ? e.message : "unreadable") + ")",
          "error",
        );
      }
    } finally {
      button.disabled = false;
    }
  }

  if (!subtle) {
    say("This browser cannot decrypt the document (no WebCrypto). Open the file in a current browser.", "error");
    return;
  }
  $("unlock").addEventListener("submit", submit);
  say("", "idle");
})();
