// Starts s3rver for drover's tests: node start.js <port> <directory> <bucket>...
// Prints "ready <port>" once listening; exits when stdin closes (the test's lifeline).
const S3rver = require('@20minutes/s3rver');
const [port, directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  port: Number(port), address: '127.0.0.1', directory, silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
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
