// k6/crypto: hashes and HMACs over node:crypto, with k6's output encodings.
import nodeCrypto from 'node:crypto';

function Encode(buf, enc) {
  if (enc === 'hex') return buf.toString('hex');
  if (enc === 'base64') return buf.toString('base64');
  if (enc === 'base64url') return buf.toString('base64url');
  if (enc === 'base64rawurl') return buf.toString('base64url');
  if (enc === 'base64raw') return buf.toString('base64').replace(/=+$/, '');
  if (enc === 'binary') return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  throw new Error(`unsupported output encoding ${enc}`);
}
const AlgName = (a) => ({ sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', sha1: 'sha1', md5: 'md5' }[a] || a);
const Bytes = (d) => (d instanceof ArrayBuffer ? Buffer.from(d) : d);

export function hmac(algorithm, secret, data, outputEncoding) {
  return Encode(nodeCrypto.createHmac(AlgName(algorithm), Bytes(secret)).update(Bytes(data)).digest(), outputEncoding);
}
export function sha256(data, enc) { return Encode(nodeCrypto.createHash('sha256').update(Bytes(data)).digest(), enc); }
export function sha512(data, enc) { return Encode(nodeCrypto.createHash('sha512').update(Bytes(data)).digest(), enc); }
export function md5(data, enc) { return Encode(nodeCrypto.createHash('md5').update(Bytes(data)).digest(), enc); }
export function randomBytes(n) { const b = nodeCrypto.randomBytes(n); return b.buffer.slice(b.byteOffset, b.byteOffset + n); }

export default { hmac, sha256, sha512, md5, randomBytes };
