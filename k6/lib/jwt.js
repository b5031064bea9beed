// HS256 bearer tokens minted in the script (k6 cannot run ticketing-admin): sub = user id, exp.
import { hmac } from 'k6/crypto';
import encoding from 'k6/encoding';

const b64 = (obj) => encoding.b64encode(JSON.stringify(obj), 'rawurl');

export function mintToken(secret, userId, ttlSeconds = 7200) {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub: String(userId), exp: Math.floor(Date.now() / 1000) + ttlSeconds });
  return `${head}.${body}.${hmac('sha256', secret, `${head}.${body}`, 'base64rawurl')}`;
}
