// Starts s3rver for drover's tests: node start.js <port> <directory> <bucket>...
// Prints "ready <port>" once listening; exits when stdin closes (the test's lifeline).
// With S3RVER_TLS_KEY and S3RVER_TLS_CERT (PEM files) it serves https.
const fs = require('fs');
const S3rver = require('@20minutes/s3rver');
const [port, directory, ...buckets] = process.argv.slice(2);
const tls = process.env.S3RVER_TLS_KEY && process.env.S3RVER_TLS_CERT
  ? { key: fs.readFileSync(process.env.S3RVER_TLS_KEY), cert: fs.readFileSync(process.env.S3RVER_TLS_CERT) }
  : {};
const server = new S3rver({
  port: Number(port), address: '127.0.0.1', directory, silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
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
