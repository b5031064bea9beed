// k6/encoding: base64 in k6's four flavours ("std", "rawstd", "url", "rawurl").
function Flavour(buf, encoding) {
  switch (encoding || 'std') {
    case 'std': return buf.toString('base64');
    case 'rawstd': return buf.toString('base64').replace(/=+$/, '');
    case 'url': return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    case 'rawurl': return buf.toString('base64url');
  }
  throw new Error(`unknown base64 encoding ${encoding}`);
}

export function b64encode(input, encoding) {
  const buf = input instanceof ArrayBuffer ? Buffer.from(input) : Buffer.from(String(input), 'utf8');
  return Flavour(buf, encoding);
}

export function b64decode(input, encoding, format) {
  const buf = Buffer.from(String(input).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (format === 's') return buf.toString('utf8');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
}

export default { b64encode, b64decode };
