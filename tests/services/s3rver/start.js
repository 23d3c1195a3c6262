// Starts s3rver for drover's tests: node start.js <port> <directory> <bucket>...
// Prints "ready <port>" once listening; exits when stdin closes (the test's lifeline).
// With S3RVER_TLS_KEY and S3RVER_TLS_CERT (PEM files) it serves https.
// S3RVER_KEYS="id:secret,id:secret" adds key pairs it accepts besides S3RVER/S3RVER (the
// credential chain's tests hand those out from their fake STS and metadata services).
// S3RVER_SERVICE_ENDPOINT is the domain of virtual-hosted requests, <bucket>.s3.<domain>
// (default amazonaws.com). S3RVER_ALLOW_MISMATCHED_SIGNATURES=1 accepts wrong signatures
// of known keys (s3rver puts the bucket into the canonical URI of a virtual-hosted SigV4
// request, which S3 does not).
const fs = require('fs');
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');
for (const pair of (process.env.S3RVER_KEYS || '').split(',').filter(Boolean)) {
  const colon = pair.indexOf(':');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(pair.slice(0, colon), pair.slice(colon + 1));
}
const [port, directory, ...buckets] = process.argv.slice(2);
const tls = process.env.S3RVER_TLS_KEY && process.env.S3RVER_TLS_CERT
  ? { key: fs.readFileSync(process.env.S3RVER_TLS_KEY), cert: fs.readFileSync(process.env.S3RVER_TLS_CERT) }
  : {};
const server = new S3rver({
  port: Number(port), address: '127.0.0.1', directory, silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
  ...(process.env.S3RVER_SERVICE_ENDPOINT ? { serviceEndpoint: process.env.S3RVER_SERVICE_ENDPOINT } : {}),
  ...(process.env.S3RVER_ALLOW_MISMATCHED_SIGNATURES === '1' ? { allowMismatchedSignatures: true } : {}),
  ...tls,
});
server.run().then(({ port: p }) => {
  process.stdout.write(`ready ${p}\n`);
}, (err) => {
  process.stderr.write(`s3rver: ${err.stack || err}\n`);
  process.exit(1);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
